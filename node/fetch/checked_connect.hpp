#pragma once
// The connection every outbound request of the node makes (a page to
// preview, a push to its service): the URL's host resolved once, each
// address checked against the policy (address_policy.hpp), and the
// connection made to the first allowed one. A coroutine on the caller's
// executor.

#include "node/fetch/allowed_networks.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/url/url_view.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

/// Where one request goes: scheme, host, port and path with query.
struct request_target {
  bool tls = false;
  std::string host;        ///< as resolved, and the TLS server name
  std::string host_header; ///< as the Host field says it (brackets, port)
  std::string port;
  std::string path;
  /// scheme://host[:port] (no default port), as a VAPID token's audience
  /// names it.
  std::string origin;
};

/// The target of an http or https URL with a host and no user info.
std::optional<request_target> target_of(boost::urls::url_view url);

/// Why an outbound request was not made or ended: a policy refused it (an
/// address, a scheme, a host), or what came was not what was asked for.
/// The network's own errors are boost::system::system_error.
struct outbound_refused {
  std::string why;
};

/// What ended an outbound request, in words: a refusal's reason, the
/// network's error, or `timeout` when its deadline passed.
std::string outbound_failure(std::exception_ptr error, std::string_view timeout);

/// Resolves the target's host once and connects to the first address
/// `allowed` lets it reach, by `until`; throws outbound_refused when none.
boost::asio::awaitable<boost::asio::ip::tcp::socket> connect_checked(
  const request_target& target, const allowed_networks& allowed, std::chrono::steady_clock::time_point until);

} // namespace chatnode

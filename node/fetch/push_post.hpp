#pragma once
// (1.2) Delivers one Web Push message (RFC 8030 §5): a POST of the
// encrypted body to the subscription's endpoint (outbound_post.hpp: an
// address the policy allows, TLS verified, within a deadline, no redirect
// followed, since a push service answers where it is asked) to a push
// service the operator's list allows. Only the status and Retry-After
// count of the answer.

#include "node/fetch/allowed_networks.hpp"
#include "node/fetch/retry_after.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace chatnode {

struct push_post_request {
  std::string endpoint;
  std::string body;          ///< aes128gcm, one record
  std::string authorization; ///< "vapid t=..., k=..."
  int ttl = 86400;
  std::string urgency;
  std::string topic;
};

struct push_post_limits {
  std::chrono::milliseconds deadline{10000}; ///< for the whole exchange
  bool allow_http = false;                   ///< plain http endpoints (a test's service)
  allowed_networks allow_private;            ///< private networks it may reach
  /// Hosts it may post to; empty: any (whose addresses the policy allows).
  std::vector<std::string> allowed_hosts;
};

struct push_post_result {
  int status = 0;       ///< 0: no answer (see error)
  int retry_after = -1; ///< seconds, from Retry-After; -1: none
  std::string error;
  bool refused = false; ///< not posted, and never will be: the endpoint's scheme, host or address
};

/// The origin a VAPID token for `endpoint` names as its audience, or empty
/// when the endpoint is not one this client posts to.
std::string push_audience(const std::string& endpoint);

/// Whether `host` is in `allowed` (case-insensitive); an empty list allows any.
bool push_host_allowed(const std::string& host, const std::vector<std::string>& allowed);

/// Posts; `done` runs once, on `io`.
void post_push(boost::asio::io_context& io, boost::asio::ssl::context& tls, push_post_request request,
               const push_post_limits& limits, std::function<void(push_post_result)> done);

} // namespace chatnode

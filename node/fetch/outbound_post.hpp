#pragma once
// A POST the node makes to a URL outside (a push service, the webhook
// receiver): over a connection to an address the policy allows
// (checked_connect.hpp), TLS verified, within a deadline, no redirect
// followed (a 3xx is an answer like any other). Of the answer, the status,
// Retry-After and a bounded body are read.

#include "node/fetch/allowed_networks.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace chatnode {

struct outbound_post {
  std::string url;
  std::string body;
  std::string content_type;
  std::string user_agent;
  std::vector<std::pair<std::string, std::string>> headers; ///< besides Host, type, agent and length
};

struct outbound_limits {
  std::chrono::milliseconds deadline{10000}; ///< for the whole exchange
  bool allow_http = false;                   ///< plain http URLs too
  allowed_networks allow_private;            ///< private networks it may reach
  std::size_t max_answer_body = 16 * 1024;   ///< what is kept of the answer's body
};

struct outbound_answer {
  int status = 0;        ///< 0: no answer (see error)
  int retry_after = -1;  ///< seconds, from Retry-After; -1: none
  std::string body;      ///< at most max_answer_body bytes of it
  bool body_cut = false; ///< the body was longer than max_answer_body (or ended early): not kept
  std::string error;
  bool refused = false; ///< not posted, and never will be: the URL's scheme, host or address
};

struct request_target;

/// Where a POST to `url` goes; throws outbound_refused when it is not an
/// http(s) URL with a host (plain http only with `allow_http`).
request_target post_target(const std::string& url, bool allow_http);

/// Posts; `done` runs once, on `io`. `check` may refuse the target first
/// (its host): it returns why, or empty to go on.
void post_outbound(boost::asio::io_context& io, boost::asio::ssl::context& tls, outbound_post request,
                   const outbound_limits& limits, std::function<void(outbound_answer)> done,
                   std::function<std::string(const std::string& host)> check = {});

} // namespace chatnode

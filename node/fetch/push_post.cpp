#include "node/fetch/push_post.hpp"

#include "node/fetch/checked_connect.hpp"
#include "node/fetch/outbound_post.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

namespace chatnode {

namespace {
namespace beast = boost::beast;
} // namespace

std::string push_audience(const std::string& endpoint) {
  auto parsed = boost::urls::parse_uri(endpoint);
  if (!parsed)
    return {};
  auto t = target_of(*parsed);
  return t ? t->origin : std::string{};
}

bool push_host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  if (allowed.empty())
    return true;
  for (const auto& a : allowed)
    if (beast::iequals(a, host))
      return true;
  return false;
}

void post_push(boost::asio::io_context& io, boost::asio::ssl::context& tls, push_post_request request,
               const push_post_limits& limits, std::function<void(push_post_result)> done) {
  outbound_post post;
  post.url = std::move(request.endpoint);
  post.body = std::move(request.body);
  post.content_type = "application/octet-stream";
  post.user_agent = "chatnode-push/" CHATNODE_VERSION;
  post.headers = {{"Content-Encoding", "aes128gcm"},
                  {"Authorization", std::move(request.authorization)},
                  {"TTL", std::to_string(request.ttl)}};
  if (!request.urgency.empty())
    post.headers.emplace_back("Urgency", std::move(request.urgency));
  if (!request.topic.empty())
    post.headers.emplace_back("Topic", std::move(request.topic));
  outbound_limits rules;
  rules.deadline = limits.deadline;
  rules.allow_http = limits.allow_http;
  rules.allow_private = limits.allow_private;
  post_outbound(
    io, tls, std::move(post), rules,
    [done = std::move(done)](outbound_answer a) {
      done({a.status, a.retry_after, std::move(a.error), a.refused});
    },
    [hosts = limits.allowed_hosts](const std::string& host) {
      return push_host_allowed(host, hosts)
               ? std::string{}
               : std::string{"the push service's host is not in [push] allowed_hosts"};
    });
}

} // namespace chatnode

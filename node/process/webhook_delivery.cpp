#include "node/process/webhook_delivery.hpp"

#include "node/fetch/page_fetch.hpp"

namespace chatnode {

namespace {

outbound_limits webhook_limits() {
  outbound_limits limits;
  limits.deadline = std::chrono::seconds{10};
  limits.allow_http = true;
  limits.allow_private = allowed_networks::all_private();
  limits.max_answer_body = 4 * 1024;
  return limits;
}

} // namespace

webhook_delivery::webhook_delivery(boost::asio::io_context& io, std::string url)
  : tls_(make_client_tls()),
    url_(std::move(url)),
    pool_(std::make_shared<post_pool>(io, tls_, webhook_limits())) {}

void webhook_delivery::post(webhook_post post, std::function<void(webhook_answer)> done) {
  outbound_post request;
  request.url = url_;
  request.body = std::move(post.body);
  request.content_type = "application/json";
  request.user_agent = "chatnode-webhooks/" CHATNODE_VERSION;
  request.headers = {{"X-Chatnode-Delivery", std::move(post.delivery)},
                     {"X-Chatnode-Timestamp", std::move(post.timestamp)},
                     {"X-Chatnode-Signature", std::move(post.signature)}};
  auto self = shared_from_this();
  pool_->post(std::move(request), [self, done = std::move(done)](outbound_answer a) {
    done({a.status, a.refused ? "refused: " + a.error : std::move(a.error)});
  });
}

} // namespace chatnode

#include "node/process/webhook_delivery.hpp"

#include "node/fetch/page_fetch.hpp"

namespace chatnode {

webhook_delivery::webhook_delivery(boost::asio::io_context& io, std::string url)
  : io_(io),
    tls_(make_client_tls()),
    url_(std::move(url)) {
  limits_.deadline = std::chrono::seconds{10};
  limits_.allow_http = true;
  limits_.allow_private = allowed_networks::all_private();
  limits_.max_answer_body = 4 * 1024;
}

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
  post_outbound(io_, tls_, std::move(request), limits_, [self, done = std::move(done)](outbound_answer a) {
    done({a.status, a.refused ? "refused: " + a.error : std::move(a.error)});
  });
}

} // namespace chatnode

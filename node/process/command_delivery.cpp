#include "node/process/command_delivery.hpp"

#include "node/fetch/outbound_post.hpp"
#include "node/fetch/page_fetch.hpp"

namespace chatnode {

command_delivery::command_delivery(boost::asio::io_context& io)
  : io_(io),
    tls_(make_client_tls()) {}

void command_delivery::post(command_post post, std::function<void(command_answer)> done) {
  outbound_limits limits;
  limits.deadline = std::chrono::seconds{5};
  limits.allow_http = true;
  if (post.allow_private)
    limits.allow_private = allowed_networks::all_private();
  limits.max_answer_body = 16 * 1024;
  outbound_post request;
  request.url = std::move(post.url);
  request.body = std::move(post.body);
  request.content_type = "application/json";
  request.user_agent = "chatnode-commands/" CHATNODE_VERSION;
  request.headers = {{"X-Chatnode-Delivery", std::move(post.delivery)},
                     {"X-Chatnode-Timestamp", std::move(post.timestamp)},
                     {"X-Chatnode-Signature", std::move(post.signature)}};
  auto self = shared_from_this();
  post_outbound(io_, tls_, std::move(request), limits, [self, done = std::move(done)](outbound_answer a) {
    if (a.refused)
      done({0, {}, "its address is refused (" + a.error + ")"});
    else if (a.status == 0)
      done({0, {}, a.error == "no answer in time" ? "no answer within 5 s" : a.error});
    else if (a.body_cut && a.status >= 200 && a.status < 300)
      done({0, {}, "its answer is longer than 16 KiB"});
    else
      done({a.status, std::move(a.body), {}});
  });
}

} // namespace chatnode

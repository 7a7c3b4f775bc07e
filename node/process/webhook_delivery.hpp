#pragma once
// (1.2) The node's webhook_poster: each delivery POSTed to `[webhooks] url`
// as JSON with its id, timestamp and signature headers, over connections
// kept open between deliveries (node/fetch/post_pool.hpp: 10 seconds at
// most, no redirect followed).
// The operator named the receiver, so it may be on a private network;
// link-local and the cloud metadata address stay refused.

#include "actors/contracts/webhook_poster.hpp"
#include "node/fetch/post_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace chatnode {

class webhook_delivery : public webhook_poster, public std::enable_shared_from_this<webhook_delivery> {
public:
  webhook_delivery(boost::asio::io_context& io, std::string url);

  void post(webhook_post post, std::function<void(webhook_answer)> done) override;

private:
  boost::asio::ssl::context tls_;
  std::string url_;
  std::shared_ptr<post_pool> pool_;
};

} // namespace chatnode

#pragma once
// (1.2) The node's command_poster: a slash command's call POSTed to its
// service as JSON with its id, timestamp and signature headers
// (node/fetch/outbound_post.hpp: 5 seconds at most, no redirect followed,
// an answer of 16 KiB at most). A command's URL must be public unless the
// command allows private addresses (the previews' rules); link-local and
// the cloud metadata address stay refused.

#include "actors/contracts/commands.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace chatnode {

class command_delivery : public command_poster, public std::enable_shared_from_this<command_delivery> {
public:
  explicit command_delivery(boost::asio::io_context& io);

  void post(command_post post, std::function<void(command_answer)> done) override;

private:
  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
};

} // namespace chatnode

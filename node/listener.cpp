#include "node/listener.hpp"

#include "node/http_session.hpp"
#include "actors/stats.hpp"
#include "node/log.hpp"

#include <boost/asio/strand.hpp>

namespace chatnode {

namespace net = boost::asio;
using tcp = net::ip::tcp;

listener::listener(net::io_context& ioc, edge_context& ctx)
  : ioc_(ioc), ctx_(ctx), acceptor_(net::make_strand(ioc)) {}

bool listener::open(const tcp::endpoint& endpoint, std::string& error) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor_.bind(endpoint, ec);
  if (!ec)
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    error = ec.message();
  return !ec;
}

tcp::endpoint listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() { do_accept(); }

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  // Each connection gets its own strand: one writer per socket.
  acceptor_.async_accept(net::make_strand(ioc_),
                         [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
                           self->on_accept(ec, std::move(s));
                         });
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Out of descriptors and the like: log and keep accepting.
    log::warn("accept_failed", {{"error", ec.message()}});
  } else {
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    auto slot = peer_ec ? std::nullopt : ctx_.per_address.acquire(peer.address());
    if (!slot) {
      // Over the per-address limit (or already gone): closed before any
      // byte is read, so it costs one accept. Not logged: a flood would
      // flood the log; /metrics counts it.
      if (!peer_ec)
        stats().count_limit(limit::connections_per_address);
      socket.close(peer_ec);
    } else {
      socket.set_option(tcp::no_delay(true), peer_ec);
      std::make_shared<http_session>(std::move(socket), ctx_, std::move(*slot))->run();
    }
  }
  do_accept();
}

} // namespace chatnode

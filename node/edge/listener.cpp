#include "node/edge/listener.hpp"

#include "node/edge/http_session.hpp"
#include "node/edge/edge_stats.hpp"
#include "node/process/log.hpp"

#include <boost/asio/post.hpp>

namespace chatnode {

namespace net = boost::asio;
using tcp = net::ip::tcp;

listener::listener(io_pool& pool, edge_context& ctx)
  : pool_(pool),
    ctx_(ctx),
    acceptor_(pool.at(0).context()),
    retry_timer_(acceptor_.get_executor()) {}

outcome<> listener::open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor_.bind(endpoint, ec);
  if (!ec)
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return ec.message();
  return std::monostate{};
}

tcp::endpoint listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() {
  do_accept();
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

void listener::do_accept() {
  auto& worker = pool_.next();
  acceptor_.async_accept(worker.context(),
                         [self = shared_from_this(), &worker](boost::system::error_code ec, tcp::socket s) {
                           self->on_accept(ec, std::move(s), worker);
                         });
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket, io_worker& worker) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Out of descriptors and the like: accepting again at once would spin
    // (the pending connection stays pending), so pause a moment first, and
    // log once per pause, not once per attempt.
    log::warn("accept_failed", {{"error", ec.message()}, {"retry_ms", "100"}});
    retry_timer_.expires_after(std::chrono::milliseconds{100});
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec && self->acceptor_.is_open())
        self->do_accept();
    });
    return;
  }
  boost::system::error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec);
  auto slot = peer_ec ? std::nullopt : ctx_.per_address.acquire(peer.address());
  if (slot) {
    socket.set_option(tcp::no_delay(true), peer_ec);
    std::make_shared<http_session>(std::move(socket), ctx_, std::move(*slot), worker)->run();
  } else {
    // Over the per-address limit (or already gone): closed before any byte
    // is read, so it costs one accept. Not logged, or a flood would flood
    // the log; /metrics counts it.
    if (!peer_ec)
      ctx_.stats.count_limit(limit::connections_per_address);
    socket.close(peer_ec);
  }
  do_accept();
}

} // namespace chatnode

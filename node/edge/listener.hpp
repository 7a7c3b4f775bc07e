#pragma once
// Accepts TCP connections and hands each to an HTTP session on the next
// I/O thread in turn.

#include "actors/contracts/result.hpp"
#include "node/edge/edge_context.hpp"
#include "node/edge/io_pool.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace chatnode {

class listener : public std::enable_shared_from_this<listener> {
public:
  /// Accepts on the pool's first thread.
  listener(io_pool& pool, edge_context& ctx);

  /// Binds and listens, or says why the address is unusable.
  outcome<> open(const boost::asio::ip::tcp::endpoint& endpoint);
  /// The bound endpoint (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  void run();
  /// Stops accepting; thread-safe.
  void stop();

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket, io_worker& worker);

  io_pool& pool_;
  edge_context& ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_; ///< accepting again after a failure
};

} // namespace chatnode

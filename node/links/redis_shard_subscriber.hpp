#pragma once
// A connection to one Redis Cluster master that only subscribes to shard
// channels (SSUBSCRIBE). hiredis 0.14's async context knows only SUBSCRIBE,
// so this one drives an Asio socket itself and parses with hiredis's reply
// reader. It comes back by itself (backoff with jitter) after any failure,
// subscribing again to what it was asked for, and checks its link with PING.

#include "actors/redis_bus/redis_port.hpp"
#include "node/links/link_reconnector.hpp"
#include "node/links/redis_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

struct redisReader;

namespace chatnode {

class redis_shard_subscriber : public std::enable_shared_from_this<redis_shard_subscriber> {
public:
  /// `events.unsubscribed` reports channels Redis dropped (their slot moved
  /// to another master) or refused (MOVED): they are no longer wanted here.
  redis_shard_subscriber(boost::asio::io_context& ioc, redis_endpoint endpoint, std::string name,
                         redis_events events, redis_connection::timing t);
  ~redis_shard_subscriber();

  void start();
  void stop();
  /// One SSUBSCRIBE per slot among `channels` (Redis refuses a cross-slot one).
  void subscribe(std::vector<std::string> channels);
  void unsubscribe(std::vector<std::string> channels);

private:
  /// A command whose replies have not all come: `left` replies to go.
  struct pending {
    std::string kind; ///< "ssubscribe", "sunsubscribe", "ping", "auth"
    std::vector<std::string> channels;
    std::size_t left = 1;
  };

  void connect();
  void on_connected();
  void fail(const std::string& reason);
  void send(std::vector<std::string> args, pending expect);
  void write_next();
  void read_more();
  void on_reply(void* reply);
  void heartbeat();
  void drop(const std::vector<std::string>& channels);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  redis_endpoint endpoint_;
  std::string name_;
  redis_events events_;
  redis_connection::timing timing_;
  redisReader* reader_ = nullptr;
  std::array<char, 16384> read_buffer_{};
  std::deque<std::string> writes_;
  bool writing_ = false;
  std::deque<pending> pending_;
  std::set<std::string> channels_; ///< wanted here, subscribed again after a reconnect
  bool up_ = false;
  bool connecting_ = false;
  std::chrono::steady_clock::time_point connect_started_;
  std::uint64_t generation_ = 0; ///< counts sockets, so late handlers of an old one do nothing
  std::chrono::steady_clock::time_point last_heard_;
  link_reconnector reconnector_;
  boost::asio::steady_timer ping_timer_;
};

} // namespace chatnode

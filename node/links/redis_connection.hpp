#pragma once
// A hiredis async connection driven by Asio: the socket is watched with a
// posix::stream_descriptor, every hiredis call runs on one strand, and the
// connection comes back by itself (backoff with jitter) after any failure.

#include "actors/redis_bus/redis_port.hpp"
#include "actors/contracts/result.hpp"
#include "node/links/link_reconnector.hpp"
#include "node/links/replica_waits.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <memory>
#include <set>

struct redisAsyncContext;

namespace chatnode {

/// host, port and credentials from redis://[[user]:password@]host[:port][/db].
struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
};

/// Parses a redis:// URL, or says why it is malformed.
result<redis_endpoint> parse_redis_url(const std::string& url);

class redis_connection : public redis_port, public std::enable_shared_from_this<redis_connection> {
public:
  struct timing {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds ping_interval{1000}; ///< a PING this often checks the link
    std::chrono::milliseconds ping_timeout{3000};  ///< no reply in this long: the link is dead
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{5000};
  };

  /// `subscriber`: the connection only subscribes. hiredis 0.14 never
  /// answers a PING sent in subscribed mode, so such a connection checks its
  /// link by subscribing again to a private heartbeat channel instead.
  redis_connection(boost::asio::io_context& ioc, redis_endpoint endpoint, std::string name, bool subscriber,
                   redis_events events, timing t);
  ~redis_connection() override;

  /// Starts connecting; call once.
  void start();
  /// Closes for good; callbacks of pending commands get an error.
  void stop();
  /// Scripts loaded (SCRIPT LOAD) at every connect before any other
  /// command, so an EVALSHA never finds the script missing after a restart
  /// or a failover: a missing script's retry by source could be overtaken
  /// by a later EVALSHA and store a sender's messages out of order. Call
  /// before start().
  void preload(std::vector<std::string> scripts) { preload_ = std::move(scripts); }

  void command(std::vector<std::string> args, redis_callback done) override;
  void command_replicated(std::vector<std::string> args, int replicas, std::chrono::milliseconds timeout,
                          redis_callback done) override;
  void subscribe(std::vector<std::string> channels) override;
  void unsubscribe(std::vector<std::string> channels) override;

private:
  struct watcher;

  void do_connect();
  void on_connected();
  void fail(const std::string& reason);
  void send_ping();
  void issue(std::vector<std::string> args, redis_callback done);
  void wait_for_replicas(int replicas, std::chrono::milliseconds timeout, redis_callback done);
  void send_wait();
  void fail_waiting(const std::string& reason);

  static void on_connect_cb(const redisAsyncContext* ac, int status);
  static void on_disconnect_cb(const redisAsyncContext* ac, int status);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_subscription_cb(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  redis_endpoint endpoint_;
  std::string name_;
  bool subscriber_;
  std::string heartbeat_channel_;
  redis_events events_;
  timing timing_;
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<watcher> watcher_;
  bool ready_ = false; ///< connected and set up
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point ping_sent_;
  /// Any reply or message proves the link alive: a busy Redis may answer a
  /// PING late, behind a long queue, and is not dead for that.
  std::chrono::steady_clock::time_point last_heard_;
  link_reconnector reconnector_;
  std::uint64_t generation_ = 0;        ///< counts contexts, so late callbacks of an old one are ignored
  std::set<std::string> channels_;      ///< wanted subscriptions, restored after a reconnect
  std::vector<std::string> preload_;    ///< script sources loaded at every connect
  replica_waits<redis_callback> waits_; ///< writes waiting for replicas, and the WAIT out for them
  boost::asio::steady_timer ping_timer_;
  boost::asio::steady_timer connect_timer_;
};

} // namespace chatnode

#pragma once
// What the Redis bridge actor needs from a Redis connection, without any
// network code: replies as values, commands with callbacks, and events. The
// hiredis implementation on Asio is node/redis_connection.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace chatnode {

/// A Redis reply as a plain value.
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  long long integer = 0;
  std::string str; ///< string, status and error text
  std::vector<redis_reply> elements;

  bool is_error() const { return type == kind::error; }
  static redis_reply error(std::string text) { return {kind::error, 0, std::move(text), {}}; }
};

using redis_callback = std::function<void(redis_reply)>;

/// One Redis connection. Thread-safe; callbacks run on the connection's own
/// strand and must not block.
class redis_port {
public:
  virtual ~redis_port() = default;

  /// Sends a command (pipelined behind the ones before it). `done` gets the
  /// reply, or an error reply when the link is down or drops first.
  virtual void command(std::vector<std::string> args, redis_callback done) = 0;

  /// Sends a write and answers once it has reached `replicas` replicas
  /// (WAIT on the connection that ran it, one WAIT shared by the writes
  /// answered meanwhile). A write that has not reached them in `timeout`
  /// is answered with an error starting "NOTREPLICATED", though Redis may
  /// keep it.
  virtual void command_replicated(std::vector<std::string> args, int replicas,
                                  std::chrono::milliseconds timeout, redis_callback done) {
    (void)args, (void)replicas, (void)timeout;
    done(redis_reply::error("this connection cannot wait for replicas"));
  }

  /// Subscribes to channels, on a connection made for subscribing.
  virtual void subscribe(std::vector<std::string> channels) = 0;
  virtual void unsubscribe(std::vector<std::string> channels) = 0;
};

/// What a connection reports. Each runs on the connection's strand.
struct redis_events {
  std::function<void()> up;                     ///< connected, authenticated, db selected
  std::function<void(const std::string&)> down; ///< lost or failed; it reconnects by itself
  std::function<void(const std::string& channel)> subscribed;
  /// A channel no longer subscribed though nobody asked (its cluster slot
  /// moved, or its master is gone): what it carried meanwhile is missed.
  std::function<void(const std::string& channel)> unsubscribed;
  std::function<void(const std::string& channel, std::string payload)> message;
};

} // namespace chatnode

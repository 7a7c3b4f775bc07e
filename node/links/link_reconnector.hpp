#pragma once
// What every link does to come back by itself: after a loss, one attempt
// after a backoff delay with jitter; after a success, the next loss starts
// from the shortest delay again; after stop, no attempt at all. The link
// keeps what is its own: how it connects and how it tells that it is up.

#include "node/links/reconnect_backoff.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <optional>
#include <utility>

namespace chatnode {

/// Owns a link's backoff and reconnect timer. Every call, and every attempt
/// it makes, runs on the link's strand.
class link_reconnector {
public:
  using strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  link_reconnector(const strand& on, std::chrono::milliseconds backoff_min,
                   std::chrono::milliseconds backoff_max)
    : backoff_(backoff_min, backoff_max),
      timer_(on) {}

  /// After a loss: calls `connect_now` once, after the next backoff delay,
  /// unless stop() comes first; a call while one waits replaces it.
  /// `connect_now` must keep the link, and so this reconnector, alive.
  /// Returns the delay, or nothing once stopped.
  template <class ConnectNow>
  std::optional<std::chrono::milliseconds> retry_later(ConnectNow connect_now) {
    if (stopped_)
      return std::nullopt;
    auto delay = backoff_.next();
    timer_.expires_after(delay);
    timer_.async_wait([this, connect_now = std::move(connect_now)](boost::system::error_code ec) mutable {
      // An attempt already due when stop() came is not cancelled by it.
      if (!ec && !stopped_)
        connect_now();
    });
    return delay;
  }

  /// The link is up: the next loss waits the shortest delay again.
  void connected() { backoff_.reset(); }

  /// For good: a waiting attempt is dropped and no other is made.
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

  bool stopped() const { return stopped_; }

private:
  reconnect_backoff backoff_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

} // namespace chatnode

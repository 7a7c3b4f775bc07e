#pragma once
// The node's I/O threads: one io_context each, every connection pinned to
// one of them for its whole life, so a connection needs no strand.
//
// Events the actors send to a connection pass through its thread's inbox: a
// fan-out to hundreds of connections wakes each thread once, not once per
// connection, and each connection writes once for all that arrived together.
// A connection that wrote less than `coalesce` ago waits until that much has
// passed since its last write (checked at the thread's flush ticks, a
// quarter of `coalesce` apart), so that in a busy room several events leave
// in one write (a system call per event would cost more than everything else
// together), while a connection that wrote long enough ago writes at once.

#include "actors/contracts/chat_types.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace chatnode {

/// A connection as its I/O thread sees it. Every call comes on that thread.
class pinned_connection {
public:
  /// One event from the inbox.
  virtual void take(frame_ptr frame, std::int64_t received_ns) = 0;
  /// After a drain: write what was taken, or ask to be deferred.
  virtual void flush() = 0;
  /// The flush tick a deferred connection waited for.
  virtual void flush_deferred() = 0;
  /// The worker's idle sweep; false once the connection is done with it.
  virtual bool check_idle(std::int64_t now_ns) = 0;

protected:
  ~pinned_connection() = default;

private:
  friend class io_worker;
  bool in_drain_ = false; ///< already listed for the flush after this drain
};

class io_worker {
public:
  explicit io_worker(std::chrono::nanoseconds coalesce,
                     std::chrono::nanoseconds sweep_period = std::chrono::seconds{1});
  io_worker(const io_worker&) = delete;
  io_worker& operator=(const io_worker&) = delete;

  boost::asio::io_context& context() { return ioc_; }
  /// How long after a write the next one waits for company (0: never).
  std::chrono::nanoseconds coalesce() const { return coalesce_; }

  /// Any thread: queue an event for a connection that lives on this worker.
  void deliver(std::shared_ptr<pinned_connection> connection, frame_ptr frame, std::int64_t received_ns);
  /// This worker's thread: flush the connection at the first tick at or
  /// after `due_ns` (steady clock).
  void defer(std::shared_ptr<pinned_connection> connection, std::int64_t due_ns);
  /// This worker's thread: check the connection for idleness every sweep
  /// period, while it wants (one timer a worker, none a connection).
  void watch(const std::shared_ptr<pinned_connection>& connection);
  /// This worker's thread: a buffer to read into and hand on at once. No
  /// connection keeps a read buffer of its own while it waits.
  std::span<char> read_buffer() { return read_buffer_; }

  void run();
  void stop();
  /// Runs what is ready without waiting (cleanup after stop).
  void poll();

private:
  struct delivery {
    std::shared_ptr<pinned_connection> connection;
    frame_ptr frame;
    std::int64_t received_ns = 0;
  };

  void drain();
  void arm_tick();
  void on_tick();
  void arm_sweep();
  void on_sweep();
  /// The sweep's other half: memory a burst left behind goes back.
  void give_back_memory();

  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::chrono::nanoseconds coalesce_;

  std::mutex mutex_;
  std::vector<delivery> inbox_; ///< guarded by mutex_
  bool drain_posted_ = false;   ///< guarded by mutex_

  // This worker's thread only.
  std::vector<delivery> draining_; ///< swapped with inbox_, keeps its capacity
  std::vector<pinned_connection*> touched_;
  std::size_t largest_drain_ = 0; ///< since the last sweep
  bool heap_trimmed_ = true;      ///< since the last busy sweep period
  struct deferred_flush {
    std::shared_ptr<pinned_connection> connection;
    std::int64_t due_ns = 0;
  };
  std::vector<deferred_flush> deferred_, ticking_;
  boost::asio::steady_timer tick_;
  bool tick_armed_ = false;
  std::vector<std::weak_ptr<pinned_connection>> watched_;
  std::chrono::nanoseconds sweep_period_;
  boost::asio::steady_timer sweep_;
  bool sweep_armed_ = false;
  std::vector<char> read_buffer_;
};

/// Empty when this build's I/O backend works here; else why not. An
/// io_uring build fails here where a seccomp profile refuses io_uring (the
/// default of Docker 25 and later, and of containerd 2's RuntimeDefault).
std::string io_backend_problem();

/// How often a worker sweeps for a given idle timeout: every second, or
/// four times per timeout when that is shorter, so that a ping goes out
/// halfway through it.
std::chrono::nanoseconds sweep_period_for(std::chrono::nanoseconds idle_timeout);

class io_pool {
public:
  io_pool(std::size_t threads, std::chrono::nanoseconds coalesce,
          std::chrono::nanoseconds sweep_period = std::chrono::seconds{1});

  std::size_t size() const { return workers_.size(); }
  io_worker& at(std::size_t index) { return *workers_[index]; }
  /// The worker for a new connection: round robin.
  io_worker& next();

  /// Runs every worker, one on the calling thread; returns when all stopped.
  void run();
  void stop();
  void poll();

private:
  std::vector<std::unique_ptr<io_worker>> workers_;
  std::size_t next_ = 0;
};

} // namespace chatnode

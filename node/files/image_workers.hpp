#pragma once
// The threads that make thumbnails: a few of their own (one by default), so
// that decoding an image never runs on an I/O thread or an actor's thread,
// with a bounded queue, so that a burst of uploads waits in a known amount
// of memory and anything past it is refused at once (the upload then goes
// without a thumbnail) rather than queued for minutes.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chatnode {

class image_workers {
public:
  /// `threads` workers (at least 1); at most `queue_limit` jobs waiting for one.
  explicit image_workers(std::size_t threads = 1, std::size_t queue_limit = 64);
  image_workers(const image_workers&) = delete;
  image_workers& operator=(const image_workers&) = delete;
  /// Jobs still waiting are dropped (never run); running ones are finished and joined.
  ~image_workers();

  /// Queues `job` for a worker; false, and `job` is not kept, when `queue_limit` jobs are
  /// already waiting. Any thread may post. A job that throws is abandoned; its worker goes on.
  bool post(std::function<void()> job);

  /// Jobs waiting for a worker (not those running).
  std::size_t waiting() const;

private:
  void run();

  const std::size_t queue_limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace chatnode

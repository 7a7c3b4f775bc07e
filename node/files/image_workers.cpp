#include "node/files/image_workers.hpp"

#include <algorithm>
#include <utility>

namespace chatnode {

image_workers::image_workers(std::size_t threads, std::size_t queue_limit)
  : queue_limit_(queue_limit) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

image_workers::~image_workers() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(jobs_);
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    thread.join();
  }
  // `dropped` goes last, outside the lock: what its jobs hold may take time to release.
}

bool image_workers::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= queue_limit_) {
      return false;
    }
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t image_workers::waiting() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void image_workers::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) {
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (...) {
      // A job reports its own failures; one that throws is abandoned, and
      // its worker lives on for the next.
    }
  }
}

} // namespace chatnode

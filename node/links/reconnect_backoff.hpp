#pragma once
// The delay before a lost link tries again: exponential, with jitter so that
// many nodes that lost the same server do not all come back at once.

#include <algorithm>
#include <chrono>
#include <random>

namespace chatnode {

class reconnect_backoff {
public:
  reconnect_backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(min),
      max_(max),
      current_(min) {}

  /// A delay drawn from [current / 2, current]; the next one may be twice as long, up to the maximum.
  std::chrono::milliseconds next() {
    static thread_local std::minstd_rand rng{std::random_device{}()};
    auto high = current_.count();
    std::uniform_int_distribution<long> jitter{high / 2, std::max<long>(high, 1)};
    current_ = std::min(current_ * 2, max_);
    return std::chrono::milliseconds{jitter(rng)};
  }

  /// The link is back: the next loss starts from the minimum again.
  void reset() { current_ = min_; }

private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
};

} // namespace chatnode

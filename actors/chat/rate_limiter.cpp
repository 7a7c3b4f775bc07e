#include "actors/chat/rate_limiter.hpp"

#include <algorithm>

namespace chatnode {

rate_limiter::rate_limiter(double rate_per_second, double burst, clock::time_point now)
  : rate_(rate_per_second),
    burst_(std::max(burst, 1.0)),
    tokens_(burst_),
    last_(now) {}

bool rate_limiter::try_take(clock::time_point now) {
  if (now > last_) {
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    last_ = now;
  }
  if (tokens_ < 1.0)
    return false;
  tokens_ -= 1.0;
  return true;
}

} // namespace chatnode

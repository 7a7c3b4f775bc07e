#pragma once
// A token bucket: `rate` tokens a second, at most `burst` saved up.

#include <chrono>

namespace chatnode {

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  rate_limiter(double rate_per_second, double burst, clock::time_point now = clock::now());

  /// Takes one token; false when the bucket is empty (the caller drops the request).
  bool try_take(clock::time_point now = clock::now());

private:
  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_;
};

} // namespace chatnode

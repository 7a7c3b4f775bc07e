#pragma once
// Which typing notices a room relays to its members on this node: one per
// user per `per_user` (the page repeats its notice every 2 s and shows one
// for 4 s, so more say nothing new), and at most `per_second` in all, so
// that a thousand people typing in a big room are not a thousand events a
// second for every member. Pure logic, no actors.

#include "actors/chat/rate_limiter.hpp"

#include <chrono>
#include <string>
#include <unordered_map>

namespace chatnode {

class typing_gate {
public:
  using clock = std::chrono::steady_clock;

  explicit typing_gate(double per_second = 5,
                       std::chrono::milliseconds per_user = std::chrono::milliseconds{1500},
                       clock::time_point now = clock::now());

  /// Whether a notice from `user` goes out now.
  bool allow(const std::string& user, clock::time_point now = clock::now());

private:
  rate_limiter room_;
  std::chrono::milliseconds per_user_;
  std::unordered_map<std::string, clock::time_point> last_; ///< user -> last relayed
};

} // namespace chatnode

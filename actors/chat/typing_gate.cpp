#include "actors/chat/typing_gate.hpp"

#include <iterator>

namespace chatnode {

namespace {
/// Users remembered before the ones whose interval is over are forgotten.
constexpr std::size_t remembered = 1024;
} // namespace

typing_gate::typing_gate(double per_second, std::chrono::milliseconds per_user, clock::time_point now)
  : room_(per_second, per_second, now),
    per_user_(per_user) {}

bool typing_gate::allow(const std::string& user, clock::time_point now) {
  auto it = last_.find(user);
  if (it != last_.end() && now - it->second < per_user_)
    return false;
  if (!room_.try_take(now))
    return false;
  if (last_.size() >= remembered)
    for (auto old = last_.begin(); old != last_.end();)
      old = now - old->second >= per_user_ ? last_.erase(old) : std::next(old);
  last_[user] = now;
  return true;
}

} // namespace chatnode

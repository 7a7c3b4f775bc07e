#include "actors/push/push_queue.hpp"

namespace chatnode {

void push_queue::schedule(const std::string& key, job& j, std::int64_t due) {
  due_.erase({j.due, key});
  j.due = due;
  due_.insert({due, key});
}

push_queue::owed push_queue::owe(const std::string& user, const push_owed_message& message,
                                 std::int64_t now_ms) {
  auto key = "o:" + user + "\n" + message.room;
  auto it = jobs_.find(key);
  if (it == jobs_.end()) {
    if (jobs_.size() >= max_pending_pushes)
      return owed::full;
    it = jobs_.emplace(key, job{}).first;
    auto& p = it->second.push;
    p.user = user;
    p.room = message.room;
    p.count = 0;
    schedule(key, it->second, now_ms + fold_ms_);
  }
  auto& p = it->second.push;
  p.id = message.id;
  p.sender = message.sender;
  p.text = message.text;
  p.dm = message.dm;
  ++p.count;
  return p.count == 1 ? owed::opened : owed::folded;
}

std::vector<claimed_push> push_queue::claim(std::size_t n, std::int64_t lease_ms, std::int64_t now_ms) {
  std::vector<claimed_push> out;
  while (out.size() < n && !due_.empty() && due_.begin()->first <= now_ms) {
    auto key = due_.begin()->second;
    auto it = jobs_.find(key);
    if (key.starts_with("o:")) {
      // Claimed: it leaves the pending slot, so that a later message opens
      // a new pending push rather than folding into one being sent.
      auto moved = std::move(it->second);
      due_.erase(due_.begin());
      jobs_.erase(it);
      key = "f:" + std::to_string(++next_flight_);
      it = jobs_.emplace(key, std::move(moved)).first;
      it->second.push.key = key;
      it->second.due = 0;
      due_.insert({0, key});
    }
    schedule(key, it->second, now_ms + lease_ms);
    out.push_back(it->second.push);
  }
  return out;
}

void push_queue::settle(const push_settlement& s) {
  auto it = jobs_.find(s.key);
  if (it == jobs_.end() || !s.key.starts_with("f:"))
    return;
  if (s.retry_at_ms == 0) {
    due_.erase({it->second.due, s.key});
    jobs_.erase(it);
    return;
  }
  auto& p = it->second.push;
  p.first_try_ms = s.first_try_ms;
  p.attempts = s.attempts;
  p.pending = s.pending;
  schedule(s.key, it->second, s.retry_at_ms);
}

} // namespace chatnode

#pragma once
// (1.2) Pushes owed and being sent, as the embedded bus keeps them (the Redis
// bus keeps the same in Redis, push_*.lua). A user's messages in one room
// fold into one pending push, due a fold's time after the first; a node
// claims due pushes for a lease, and settles each as sent or to be sent
// again later. Pure logic, no actors; times are the caller's, in ms.

#include "actors/contracts/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace chatnode {

class push_queue {
public:
  explicit push_queue(std::int64_t fold_ms)
    : fold_ms_(fold_ms) {}

  enum class owed { opened, folded, full };
  /// Folds `message` into `user`'s pending push for its room, or opens one
  /// due a fold's time from `now_ms`.
  owed owe(const std::string& user, const push_owed_message& message, std::int64_t now_ms);
  /// Up to `n` pushes due by `now_ms`, each claimed until `now_ms + lease_ms`
  /// (then due again). A message for the same user and room that comes
  /// after the claim opens a new pending push.
  std::vector<claimed_push> claim(std::size_t n, std::int64_t lease_ms, std::int64_t now_ms);
  /// Ends a claimed push, or makes it due again at its retry time.
  void settle(const push_settlement& settlement);

  std::size_t size() const { return jobs_.size(); }

private:
  struct job {
    claimed_push push;
    std::int64_t due = 0;
  };
  void schedule(const std::string& key, job& j, std::int64_t due);

  std::int64_t fold_ms_;
  std::uint64_t next_flight_ = 0;
  std::map<std::string, job> jobs_; ///< "o:<user>\n<room>" pending, "f:<n>" claimed once
  std::set<std::pair<std::int64_t, std::string>> due_;
};

} // namespace chatnode

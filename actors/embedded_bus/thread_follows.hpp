#pragma once
// (1.2) Who follows which thread of a room, and how far each has read it,
// on the embedded bus: a user follows a thread they started, replied in or
// were mentioned in, while its root is retained. Pure data, no actors.

#include "actors/contracts/chat_types.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace chatnode {

/// Users a room's threads may be followed by, at most, on this node's
/// memory: past it, a new follower of a thread is not kept.
inline constexpr std::size_t max_followers_per_thread = 10000;

class thread_follows {
public:
  /// `user` follows `root`'s thread; `read`, when given, moves their read
  /// position forward to it (their own reply is read).
  void follow(message_id root, const std::string& user, std::optional<message_id> read = std::nullopt);
  /// A user's read position in a thread; none when they do not follow it
  /// (an inner none: they follow it and have read nothing yet).
  std::optional<std::optional<message_id>> read_of(message_id root, const std::string& user) const;
  /// Moves a follower's read position forward to `id`; false when it did not move.
  bool mark_read(message_id root, const std::string& user, message_id id);
  /// The roots a user follows.
  const std::set<message_id>& roots_of(const std::string& user) const;
  /// The thread's root left the retention: nobody follows it any more.
  void forget(message_id root);

private:
  std::map<message_id, std::map<std::string, std::optional<message_id>>> by_root_;
  std::unordered_map<std::string, std::set<message_id>> by_user_;
};

} // namespace chatnode

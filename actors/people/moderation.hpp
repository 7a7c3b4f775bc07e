#pragma once
// Who may not enter or write in a room (bans and mutes, each until a time or
// until lifted), and the rooms of direct conversations. Pure logic for the
// embedded bus; the Redis bus keeps the same rules in its scripts.

#include "actors/contracts/chat_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatnode {

class room_rules {
public:
  /// Applies mute, unmute, ban or unban (kick leaves nothing behind).
  /// `until` in ms since the epoch; none: until lifted.
  void apply(moderation_action action, const std::string& user, std::optional<std::int64_t> until);
  bool banned(const std::string& user, std::int64_t now_ms) const;
  bool muted(const std::string& user, std::int64_t now_ms) const;
  bool empty() const { return bans_.empty() && mutes_.empty(); }

private:
  /// user -> until (ms; 0: until lifted). Ended ones are dropped when looked at.
  static bool in_force(const std::unordered_map<std::string, std::int64_t>& map, const std::string& user,
                       std::int64_t now_ms);
  std::unordered_map<std::string, std::int64_t> bans_;
  std::unordered_map<std::string, std::int64_t> mutes_;
};

/// The room of two users' direct conversation: "_dm." and 40 hex digits of
/// SHA-256 over the pair in order, the same whoever opens it.
std::string dm_room_name(std::string_view user, std::string_view peer);

/// Direct conversations a user may be in before opening another is refused.
inline constexpr std::size_t max_conversations_per_user = 1000;

/// Whether a room name is a direct conversation's.
inline bool is_dm_room(std::string_view room) {
  return room.starts_with("_dm.");
}

} // namespace chatnode

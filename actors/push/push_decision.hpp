#pragma once
// (1.2) Who a message owes a push, before presence and read positions are
// asked: the users its room's level asks it for. PROTOCOL.md: a level
// `all` pushes every message, `mentions` (the default in rooms) those whose
// text names the user, `none` nothing; direct conversations default to
// `all`. A user is never pushed their own message. The Redis bus decides
// the same in push_decide.lua.

#include "actors/contracts/messages.hpp"

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// Characters of a message's text a push carries, at most.
inline constexpr std::size_t push_text_characters = 200;

/// What a stored message hands the bus to decide its pushes: its text cut
/// to what a push shows (whole characters), and the names it mentions.
push_owed_message owed_push(std::string room, std::string id, std::string sender, std::string_view text);

/// The users a room's levels may push a message to: those at `all` there,
/// a direct conversation's two users, and those its text mentions.
struct push_candidates {
  std::set<std::string> at_all;
  std::vector<std::string> parties;
  /// Each once, the sender left out.
  std::vector<std::string> of(const push_owed_message& m) const;
};

/// Whether `m` is pushed to `user` whose level in its room is `level`
/// (empty: the default).
bool pushes_for(const push_owed_message& m, const std::string& user, const std::string& level);

} // namespace chatnode

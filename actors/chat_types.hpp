#pragma once
// Value types shared by the protocol, the actors and the buses.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// A message id "<ms>-<seq>", ordered by ms, then seq (as Redis stream ids).
struct message_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  auto operator<=>(const message_id&) const = default;

  /// The id that directly follows this one, for an exclusive lower bound.
  message_id next() const { return {ms, seq + 1}; }
  std::string to_string() const;
  /// Parses "<ms>-<seq>" (two decimal integers); nullopt when malformed.
  static std::optional<message_id> parse(std::string_view text);
};

/// One stored chat message.
struct chat_message {
  std::string room;
  message_id id;
  std::string user;
  std::string text;
  std::int64_t ts = 0; ///< ms since the epoch, assigned when stored
  std::string cid;     ///< the sender's own id for it; may be empty
};

/// A slice of a room's history, oldest first.
struct message_page {
  std::vector<chat_message> messages;
  bool more = false; ///< older messages than the first one exist
};

} // namespace chatnode

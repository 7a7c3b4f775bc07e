#pragma once
// One room's retained messages in id order, with id assignment and the cid
// index that makes a retried send idempotent. Pure logic, no actors.

#include "actors/chat_types.hpp"
#include "actors/protocol.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace chatnode {

class room_history {
public:
  /// Keeps at least `retention` messages (exactly that many, here).
  explicit room_history(std::size_t retention);

  /// Result of `append`: the stored message, and whether it was stored earlier.
  struct append_result {
    stored_message message;
    bool duplicate = false;
  };

  /// Stores and encodes a message, assigning the next id from `now_ms` (its
  /// ms part is the message's ts). A non-empty cid already stored for this
  /// user answers with the stored message instead.
  append_result append(std::string room, std::string user, std::string text, std::string cid,
                       std::int64_t now_ms);

  /// Every retained message with an id greater than `after`, oldest first.
  message_page after(message_id after) const;

  /// Up to `limit` messages older than `before` (the newest when absent).
  message_page page(std::optional<message_id> before, std::size_t limit) const;

  std::size_t size() const { return messages_.size(); }

private:
  static std::string cid_key(const std::string& user, const std::string& cid);
  message_id next_id(std::int64_t now_ms);

  std::size_t retention_;
  struct entry {
    stored_message message;
    std::string cid_key; ///< empty without a cid
  };
  std::deque<entry> messages_;
  std::unordered_map<std::string, message_id> cids_; ///< user+cid -> id, for retained messages
  message_id last_id_;
};

} // namespace chatnode

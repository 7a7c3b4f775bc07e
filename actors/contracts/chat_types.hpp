#pragma once
// Value types shared by the protocol, the actors and the buses.

#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
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
  std::string to_string() const;
  /// Parses "<ms>-<seq>" (two decimal integers); nullopt when malformed.
  static std::optional<message_id> parse(std::string_view text);
};

/// One chat message, as it is encoded.
/// (1.2) A file a message carries, as stored.
struct shared_file {
  std::string file; ///< its id
  std::string name;
  std::string mime;
  std::uint64_t size = 0;
  int width = 0; ///< an image's; 0: not one
  int height = 0;
  bool thumb = false; ///< a thumbnail exists

  bool operator==(const shared_file&) const = default;
};

struct chat_message {
  std::string room;
  message_id id;
  std::string user;
  std::string text;
  std::int64_t ts = 0;                  ///< ms since the epoch, assigned once when stored
  std::string cid;                      ///< the sender's own id for it; may be empty
  std::optional<message_id> reply_to{}; ///< (1.2) the message it quotes
  std::optional<message_id> thread{};   ///< (1.2) its thread's root: a reply in a thread
  std::vector<shared_file> files{};     ///< (1.2) the files it shares
  bool bot = false;                     ///< (1.2) posted by a bot (a named API key, a command's answer)
  std::string display{};                ///< (1.2) its author's name as their token gave it; empty: none
};

/// What a change event does to the message it targets; a moderation event
/// is kept in the same order but targets a user, not a message. (1.2) A
/// preview is the node's: what the message's first link shows.
enum class change_kind : char { edit = 'e', remove = 'd', reaction = 'r', moderation = 'o', preview = 'p' };

/// (1.2) What a message's first link shows, as the node that fetched it found it.
struct link_preview {
  std::string url;
  std::string title;
  std::string description;
  std::string site;
  std::string image; ///< a path on the node to a copy of the page's image; empty: none

  bool operator==(const link_preview&) const = default;
};

/// (1.2) A thread a user follows (they started it, replied in it or were
/// mentioned in it), with their read position in it.
struct followed_thread {
  message_id root;
  std::optional<message_id> read; ///< the newest thread message read; none yet
  std::size_t unread = 0;         ///< thread messages after it, not deleted
  std::size_t replies = 0;        ///< the thread's messages, not deleted
  std::optional<std::int64_t> last_reply;
};

/// (1.2) The threads a user follows in a room, newest reply first.
struct followed_threads {
  std::vector<followed_thread> threads;
};

/// What a moderator does to a user in a room.
enum class moderation_action { mute, unmute, kick, ban, unban };

/// A moderation event: an entry in the room's order.
struct moderation_event {
  std::string room;
  message_id id;
  moderation_action action = moderation_action::kick;
  std::string user;
  std::string by;
  std::optional<std::int64_t> until; ///< ms since the epoch; none: until lifted (mute, ban)
};

/// An edit, delete or reaction: an entry in the room's order like a message,
/// referring to the message it changes.
struct message_change {
  change_kind kind = change_kind::edit;
  std::string room;
  message_id id;
  message_id target;
  std::string user;
  std::string text;      ///< edit: the new text
  std::int64_t ts = 0;   ///< edit, delete: ms since the epoch (the id's ms)
  std::string emoji;     ///< reaction
  bool on = true;        ///< reaction: added, or taken back
  std::size_t count = 0; ///< reaction: that emoji's count on the target after it
  std::string cid;
  /// A reaction already so: an answer to its sender alone, not an entry in
  /// the room's order (its id is the target's newest change); clients apply
  /// nothing.
  bool unchanged = false;
  /// (1.2) A delete of a thread's message: the root, and the root's
  /// `replies` and `last_reply` after it.
  std::optional<message_id> thread{};
  std::size_t replies = 0;
  std::optional<std::int64_t> last_reply{};
  /// (1.2) A preview: what the target's first link shows.
  link_preview preview{};
};

/// What the changes so far made of a message (its text lives with it).
struct message_state {
  std::optional<std::int64_t> edited; ///< ts of the latest edit
  bool deleted = false;
  /// emoji -> users, both in the order they first came.
  std::vector<std::pair<std::string, std::vector<std::string>>> reactions;
  /// (1.2) A thread's root: its messages not deleted (none: no message was
  /// ever stored in its thread), and the ts of the newest of them.
  std::optional<std::size_t> replies{};
  std::optional<std::int64_t> last_reply{};
  std::optional<link_preview> preview{}; ///< (1.2) its first link's

  bool has_reaction(std::string_view emoji, std::string_view user) const;
  std::size_t count(std::string_view emoji) const;
  /// Adds or takes back one user's reaction; false when that changes nothing.
  bool react(const std::string& emoji, const std::string& user, bool on);
  bool operator==(const message_state&) const = default;
};

/// A room in the directory: online members (distinct names over all nodes)
/// and the ms of its last message.
struct directory_entry {
  std::string room;
  std::size_t members = 0;
  std::optional<std::int64_t> last_ts;
  bool operator==(const directory_entry&) const = default;
};

/// An encoded event, shared by every recipient on this node.
using frame_ptr = std::shared_ptr<const std::string>;

inline frame_ptr make_frame(std::string encoded) {
  return std::make_shared<const std::string>(std::move(encoded));
}

/// A stored message as it travels between bus, hub and clients: its id, for
/// ordering, and its `message` event, encoded once.
struct stored_message {
  message_id id;
  frame_ptr frame;
  std::int64_t received_ns = 0; ///< when this node got it from the bus (steady clock); 0 for history
};

/// Steady-clock nanoseconds, for latency stamps.
inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// A slice of a room's history, oldest first.
struct message_page {
  std::vector<stored_message> messages;
  bool more = false; ///< older messages than the first one exist
};

} // namespace chatnode

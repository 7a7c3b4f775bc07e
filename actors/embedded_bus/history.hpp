#pragma once
// One room's retained log for the embedded bus: messages and the changes to
// them (edits, deletes, reactions) in one id order, with id assignment, the
// cid index that makes a retried request idempotent, each message's current
// state (a thread root's replies among it), the retained messages of each
// thread, and every user's read position. Pure logic, no actors. The Redis
// bus keeps the same rules in its scripts (actors/redis_bus/lua/).

#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/embedded_bus/thread_follows.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <unordered_map>

namespace chatnode {

/// How much a room keeps: the last `retention` messages, and the changes
/// after the oldest of them, at most `retention * change_allowance` entries
/// in all (a room flooded with changes loses its oldest messages sooner).
/// With an archive, entries not archived yet stay too, within that cap.
inline constexpr std::size_t change_allowance = 8;
/// Users whose read position a room keeps on the embedded bus.
inline constexpr std::size_t max_readers_per_room = 10000;

class room_history {
public:
  /// Keeps at least `retention` messages (exactly that many, here).
  explicit room_history(std::size_t retention);

  /// Result of `append`: what was stored, or why not.
  using append_result = store_result;

  /// Stores a message or a change, assigning the next id from `now_ms` (its
  /// ms part is the ts). A non-empty cid already stored for this user
  /// answers with what it stored instead.
  append_result append(const store_request& req, std::int64_t now_ms);

  /// (1.2) The ids of the files a retained message shares, and its
  /// preview's image (a copy of its own).
  std::vector<std::string> files_of(message_id id) const;
  /// (1.2) Files of messages that left the retention with no archive to keep
  /// them, since the last call.
  std::vector<std::string> take_dropped_files();

  /// A message, for tests and callers that know no changes.
  append_result append(std::string room, std::string user, std::string text, std::string cid,
                       std::int64_t now_ms);

  /// Stores a moderation event (it changes no message) and returns it.
  stored_message append_moderation(moderation_event event, std::int64_t now_ms);

  /// Every retained message with an id greater than `after`, oldest first
  /// and as it now is, with the changes after `after`.
  struct since_page {
    message_page messages;
    std::vector<stored_message> changes;
  };
  since_page after(message_id after) const;

  /// Up to `limit` messages older than `before` (the newest when absent), as they now are.
  message_page page(std::optional<message_id> before, std::size_t limit) const;

  /// Up to `limit` messages of `root`'s thread older than `before` (the
  /// newest when absent), oldest first, as they now are.
  message_page thread_page(message_id root, std::optional<message_id> before, std::size_t limit) const;

  /// A user's read position and the messages after it.
  struct read_position {
    std::optional<message_id> id;
    std::size_t unread = 0;
  };
  read_position read_of(const std::string& user) const;

  /// Moves a user's read position up to `id` (never back, never past the
  /// newest entry); `moved` is false when it stayed. Nullopt when the room
  /// holds nothing to read.
  struct read_update {
    read_position position;
    bool moved = false;
  };
  std::optional<read_update> mark_read(const std::string& user, message_id id);

  /// (1.2) Moves a follower's read position in `root`'s thread up to `id`
  /// (never back, never past the thread's newest message). Nullopt when
  /// the user does not follow the thread (or it has no message).
  std::optional<read_update> mark_thread_read(const std::string& user, message_id root, message_id id);
  /// (1.2) The threads a user follows here, newest reply first, at most `limit`.
  followed_threads threads_of(const std::string& user, std::size_t limit) const;

  /// Up to `limit` entries (messages and changes) after `after`, as they
  /// were published, for the archive.
  entry_batch entries_after(message_id after, std::size_t limit) const;

  /// Messages that left this log still exist in an archive: pages and
  /// snapshots say `more` while older messages were ever stored, and up to
  /// `hold` entries not archived yet stay.
  void set_archived(bool archived, std::size_t hold) {
    archived_ = archived;
    hold_ = hold;
  }

  /// The archive holds every entry up to `mark`. Until then an entry stays
  /// past the retention (up to the cap on entries), so that nothing leaves
  /// before it is archived.
  void mark_archived(message_id mark);

  /// (1.2) Webhooks take this room's entries: from the next one stored on,
  /// entries not sent yet stay past the retention, up to `hold`.
  void set_hooked(bool hooked, std::size_t hold);
  /// (1.2) The webhooks sent every entry up to here (the newest entry
  /// before any was stored for them).
  message_id hook_cursor() const;
  /// (1.2) The webhooks sent every entry up to `mark` (never back).
  void mark_hooked(message_id mark);

  std::size_t size() const { return messages_; }
  /// The ts of the newest retained message, if any.
  std::optional<std::int64_t> last_message_ts() const;
  std::size_t entries() const { return entries_.size(); }

private:
  struct entry {
    message_id id;
    std::optional<change_kind> change; ///< none: a message
    std::uint64_t number = 0;          ///< messages stored up to and including this entry
    frame_ptr frame;                   ///< the event as published
    std::string cid_key;               ///< empty without a cid
    // A message's own:
    chat_message message;
    message_state state;
    message_id last_change;          ///< the newest change applied to it (its own id if none)
    mutable frame_ptr current;       ///< as it now is, made when first asked for
    std::uint64_t thread_total = 0;  ///< a root: messages ever stored in its thread
    std::uint64_t thread_number = 0; ///< in a thread: which of its messages this is (from 1)
  };

  /// (1.2) Files sent in a message of this room: each is sent once.
  std::unordered_set<std::string> sent_files_;
  std::vector<std::string> dropped_files_;

  static std::string cid_key(const std::string& user, const std::string& cid);
  message_id next_id(std::int64_t now_ms);
  std::deque<entry>::iterator find(message_id id);
  std::deque<entry>::const_iterator find(message_id id) const;
  append_result store_change(const store_request& req, std::int64_t now_ms);
  /// A new message's reply_to and thread, checked; `root` is its thread's
  /// root (the root's own when `thread` names a message in a thread).
  std::optional<refusal> check_reply(const store_request& req, std::optional<message_id>& root) const;
  /// A message stored in `root`'s thread counts among its replies.
  void count_reply(message_id root, entry& reply);
  /// A thread's message was deleted: its root's replies, told in `change`.
  void uncount_reply(const entry& reply, message_change& change);
  void drop_front();
  const frame_ptr& current_frame(const entry& e) const;
  std::size_t unread_after(message_id id) const;
  /// A thread's messages after `read` (all with none) that are not deleted.
  std::size_t thread_unread(message_id root, std::optional<message_id> read) const;
  /// A new thread message: its author (read up to it), its root's author
  /// and those it mentions follow the thread.
  void follow_thread(message_id root, const entry& reply);
  void trim();
  /// Whether messages older than those retained were stored (and archived).
  bool archived_older() const;

  std::size_t retention_;
  std::deque<entry> entries_;
  std::size_t messages_ = 0;                         ///< messages among the entries
  std::uint64_t numbered_ = 0;                       ///< messages ever stored
  std::unordered_map<std::string, message_id> cids_; ///< user+cid -> id, for retained entries
  std::unordered_map<std::string, message_id> reads_;
  std::map<message_id, std::deque<message_id>> threads_; ///< root -> its retained thread messages
  thread_follows follows_;                               ///< (1.2) who follows which thread
  message_id last_id_;
  bool archived_ = false;
  std::size_t hold_ = 0;
  message_id archived_mark_;
  bool hooked_ = false;
  std::size_t hook_hold_ = 0;
  std::optional<message_id> hook_mark_; ///< none: nothing stored for the webhooks yet
};

} // namespace chatnode

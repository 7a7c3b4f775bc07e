#pragma once
// The actors' vocabulary: atoms and the payloads they carry. Who sends which
// to whom, and what it answers, is the typed interfaces in interfaces.hpp.

#include "actors/contracts/api_keys.hpp"
#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/client_sink.hpp"
#include "actors/contracts/error_code.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

using frame_atom = caf::atom_constant<caf::atom("frame")>;
using binary_atom = caf::atom_constant<caf::atom("binary")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using enter_atom = caf::atom_constant<caf::atom("enter")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using typing_atom = caf::atom_constant<caf::atom("typing")>;
using store_atom = caf::atom_constant<caf::atom("store")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using recent_atom = caf::atom_constant<caf::atom("recent")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using member_atom = caf::atom_constant<caf::atom("member")>;
using presence_atom = caf::atom_constant<caf::atom("presence")>;
using who_atom = caf::atom_constant<caf::atom("who")>;
using resync_atom = caf::atom_constant<caf::atom("resync")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using moderate_atom = caf::atom_constant<caf::atom("moderate")>;
using kick_atom = caf::atom_constant<caf::atom("kick")>;
using kicked_atom = caf::atom_constant<caf::atom("kicked")>;
using dm_atom = caf::atom_constant<caf::atom("dm")>;
using rooms_atom = caf::atom_constant<caf::atom("rooms")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using notice_atom = caf::atom_constant<caf::atom("notice")>;
using dms_atom = caf::atom_constant<caf::atom("dms")>;
using api_atom = caf::atom_constant<caf::atom("api")>;
using disconnect_atom = caf::atom_constant<caf::atom("disconn")>;
using archive_atom = caf::atom_constant<caf::atom("archive")>;
using archiver_atom = caf::atom_constant<caf::atom("archiver")>;
using entries_atom = caf::atom_constant<caf::atom("entries")>;
using search_atom = caf::atom_constant<caf::atom("search")>;
using archived_atom = caf::atom_constant<caf::atom("archived")>;
using erase_atom = caf::atom_constant<caf::atom("erase")>;
using retention_atom = caf::atom_constant<caf::atom("retention")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using quota_atom = caf::atom_constant<caf::atom("quota")>;
using preview_atom = caf::atom_constant<caf::atom("preview")>;
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;
using pvowned_atom = caf::atom_constant<caf::atom("pvowned")>;
using threads_atom = caf::atom_constant<caf::atom("threads")>;
using pvlookup_atom = caf::atom_constant<caf::atom("pvlookup")>;
using pvkeep_atom = caf::atom_constant<caf::atom("pvkeep")>;
using files_atom = caf::atom_constant<caf::atom("files")>;
using pushsub_atom = caf::atom_constant<caf::atom("pushsub")>;
using pushunsub_atom = caf::atom_constant<caf::atom("pushunsub")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using pushowe_atom = caf::atom_constant<caf::atom("pushowe")>;
using pushdue_atom = caf::atom_constant<caf::atom("pushdue")>;
using pushaway_atom = caf::atom_constant<caf::atom("pushaway")>;
using pushsubs_atom = caf::atom_constant<caf::atom("pushsubs")>;
using pushsettle_atom = caf::atom_constant<caf::atom("pushsettl")>;
using pushsent_atom = caf::atom_constant<caf::atom("pushsent")>;
using notifylv_atom = caf::atom_constant<caf::atom("notifylv")>;
using pushsave_atom = caf::atom_constant<caf::atom("pushsave")>;
using jwks_atom = caf::atom_constant<caf::atom("jwks")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using webhook_atom = caf::atom_constant<caf::atom("webhook")>;
using hooker_atom = caf::atom_constant<caf::atom("hooker")>;
using hookclaim_atom = caf::atom_constant<caf::atom("hookclaim")>;
using hookmove_atom = caf::atom_constant<caf::atom("hookmove")>;
using command_atom = caf::atom_constant<caf::atom("command")>;

/// A session asks the hub to enter a room.
struct join_request {
  std::string room;
  std::string name;
  std::string session;
  sink_ptr sink;
  std::optional<message_id> since;
  std::size_t page_size = 50;
  std::string peer; ///< a direct conversation's other user
  std::string role; ///< "moderator", "admin", or empty
  caf::actor owner; ///< the session, told when it is kicked out (a session_actor)
  std::string cid;  ///< the join request's, carried by its refusal
};

/// A session asks its hub for a page of a room's member names.
struct members_query {
  std::string session;
  std::optional<std::string> after; ///< the page starts after this name
  std::size_t limit = 100;
};

/// What the hub asks the bus for when a member enters: the last `limit`
/// messages, or every retained one after `since`; and `user`'s read state.
struct recent_query {
  std::string room;
  std::optional<message_id> since;
  std::size_t limit = 50;
  std::string user;
  /// Who is in the room too: a hub that already follows the room's presence
  /// needs no list (in a big room, reading it for every join costs the most).
  bool members = true;
};

/// What a member entering a room gets: recent history and who is there.
struct room_snapshot {
  message_page history;                ///< messages as they now are (edited, deleted, reactions)
  std::vector<stored_message> changes; ///< with `since`: the change events after it, in id order
  std::vector<std::string> members;    ///< distinct names, on every node
  std::uint64_t presence_version = 0;  ///< presence events up to this one are reflected
  std::optional<message_id> read;      ///< the user's read position, if any
  std::size_t unread = 0;              ///< messages after it
};

/// Someone entered or left a room (on any node). Versions count up by one
/// per room, so a hub can tell which events a snapshot already reflects and
/// when one went missing.
struct presence_event {
  std::uint64_t version = 0;
  std::string user;
  bool present = true; ///< joined; false: left
  frame_ptr frame;
  std::size_t count = 0; ///< names in the room after it, as the bus counted them: `frame`'s count
};

/// Who is in a room on every node, as of a presence version.
struct presence_snapshot {
  std::vector<std::string> members; ///< distinct names
  std::uint64_t version = 0;
};

/// A page of older history.
struct history_query {
  std::string room;
  std::optional<message_id> before;
  std::size_t limit = 50;
  std::optional<message_id> thread{}; ///< (1.2) a page of this root's thread instead
};

/// What a session asks the bus to store: a message, or a change (edit,
/// delete, reaction) of one.
struct store_request {
  std::string room;
  std::string user;
  std::optional<change_kind> change; ///< none: a new message
  std::string text;                  ///< message, edit
  std::string cid;
  message_id target;                    ///< change
  std::string emoji;                    ///< reaction
  bool on = true;                       ///< reaction
  bool moderator = false;               ///< may delete anyone's message
  std::optional<message_id> reply_to{}; ///< message: the one it quotes
  std::optional<message_id> thread{};   ///< message: the thread it is in (its root, or a message in it)
  std::vector<shared_file> files{};     ///< (1.2) message: the files it shares (each sent once)
  link_preview preview{};               ///< (1.2) preview: what the target's first link shows
  bool bot = false;                     ///< (1.2) message: posted by a bot
  std::string display{};                ///< (1.2) message: the author's shown name (their token's `name`)
};

/// Why a bus refused a request (a change, an admission, a read).
struct refusal {
  error_code code = error_code::not_found;
  std::string reason;
};

/// Whether a user may enter a room: not banned, and a party to it when it
/// is a direct conversation.
struct admit_request {
  std::string room;
  std::string user;
};

struct admission {
  std::optional<refusal> refused;
  std::string peer; ///< a direct conversation's other user
};

/// A moderator acts on a user in a room.
struct moderation_request {
  std::string room;
  std::string by;
  moderation_action action = moderation_action::kick;
  std::string user;
  std::optional<std::int64_t> seconds; ///< mute, ban: how long; none: until lifted
};

/// A user is put out of a room: their sessions there leave it.
struct kick_notice {
  std::string user;
  frame_ptr frame; ///< the `kicked` event they get
};

/// Every listed room (in no order).
using directory_listing = std::vector<directory_entry>;

/// A session that watches the room directory, and the listing its `rooms`
/// answer came from: changes after that one are what it is sent.
struct directory_watcher {
  std::string session;
  sink_ptr sink;
  directory_listing seen;
};

/// Something for one user's sessions on every node (a conversation opened
/// with them).
struct user_notice {
  std::string user;
  frame_ptr frame;         ///< sent to each session; none for a disconnect
  bool disconnect = false; ///< close the user's connections instead
};

/// An HTTP request to the server API, as the edge read it.
struct api_request {
  std::string method; ///< "GET" or "POST"
  std::string path;   ///< without the query
  std::string body;
  api_caller caller; ///< (1.2) whose key it carries
};

/// Its answer: an HTTP status and a JSON body.
struct api_response {
  int status = 200;
  std::string body;
};

/// A user's direct conversations: (room, the other user).
using conversation_list = std::vector<std::pair<std::string, std::string>>;

/// Opens (or finds) the direct conversation of two users.
struct dm_request {
  std::string user;
  std::string peer;
};

/// The bus stored an entry in a room (`stored_here`: on this node's
/// request), or this node saw one stored elsewhere: the archive (and the
/// webhooks) have work.
struct archive_notice {
  std::string room;
  message_id newest;
  bool stored_here = false;
};

/// The archive asks the bus for a room's entries after `after` ({0, 0}: from
/// the oldest retained), in id order, at most `limit`.
struct entries_query {
  std::string room;
  message_id after;
  std::size_t limit = 500;
};

/// One entry of a room's order as it was published, with its message
/// number (messages stored up to and including it; 0 when unknown).
struct archived_entry {
  message_id id;
  std::uint64_t number = 0;
  frame_ptr frame;
};

using entry_batch = std::vector<archived_entry>;

/// The archive holds a room's entries up to `mark`: the bus may let them go.
struct archived_mark {
  std::string room;
  message_id mark;
};

/// (1.2) Whether a room's entries go to the webhooks: every listed room's,
/// and with `private_rooms` also those of `_` rooms and direct conversations.
inline bool webhook_room(std::string_view room, bool private_rooms) {
  return private_rooms || (!room.empty() && room.front() != '_');
}

/// (1.2) A node asks to deliver a room's webhooks: the room's lease, for
/// `lease_ms`, unless another owner holds it.
struct hook_claim_request {
  std::string room;
  std::string owner;
  std::int64_t lease_ms = 0;
};

/// (1.2) A room's webhook cursor as the bus keeps it, and whether the asker
/// holds the room's lease.
struct hook_lease {
  bool granted = false;
  bool took_over = false;            ///< granted because the last holder's lease ran out
  message_id cursor;                 ///< delivered up to here
  std::int64_t failing_since_ms = 0; ///< the entry after the cursor has failed since (wall ms); 0: not
};

/// (1.2) The lease holder moves a room's cursor forward (or only keeps its
/// lease, with the same cursor), says since when the next entry fails, and
/// renews or lets go of the lease. Answered false when the lease is another's.
struct hook_progress {
  std::string room;
  std::string owner;
  message_id cursor;
  std::int64_t failing_since_ms = 0;
  bool release = false;
  std::int64_t lease_ms = 0;
};

/// (1.2) A slash command a member typed in a room: `/command args`.
struct command_request {
  std::string room;
  std::string user;
  std::string command;
  std::string args;
  std::string cid;
  std::optional<message_id> thread; ///< typed in a thread: its answer goes there
};

/// (1.2) What became of it: refused (unknown, not in this room, its service
/// failed), or answered to the caller alone (`text`), or posted by its bot
/// (`posted`), or answered with nothing to show.
struct command_result {
  std::optional<refusal> refused;
  std::string text;
  std::optional<message_id> posted;
};

/// A search of a room's archived messages for words.
struct search_query {
  std::string room;
  std::string words;
  std::optional<message_id> before;
  std::size_t limit = 20;
};

/// What erasing a user's messages did.
struct erase_result {
  std::size_t rooms = 0;      ///< rooms they had written in
  std::size_t retained = 0;   ///< messages deleted from what the bus retains
  std::uint64_t archived = 0; ///< rows removed from the archive
};

/// A request to store a new message.
inline store_request message_request(std::string room, std::string user, std::string text,
                                     std::string cid = {}) {
  store_request req;
  req.room = std::move(room);
  req.user = std::move(user);
  req.text = std::move(text);
  req.cid = std::move(cid);
  return req;
}

/// (1.2) A message whose first link is to be previewed, by the node its
/// author sent it on.
struct preview_job {
  std::string room;
  message_id target;
  std::string author;
  std::string url;
  int waits = 0; ///< times it waited for another node's fetch of the link
};

/// (1.2) What the preview cache holds for a link.
struct cached_preview {
  enum class state { fetch, wait, found };
  state what = state::fetch;           ///< fetch: this node fetches it now; wait: another node is
  std::optional<link_preview> preview; ///< found: what it shows, or none: the link has no usable one
};

/// The bus's answer to store_atom.
struct store_result {
  stored_message message;
  /// Nothing was published (the cid was stored before, or a reaction was
  /// already so): `message` answers the sender alone.
  bool duplicate = false;
  std::optional<refusal> refused; ///< a change that was not stored
};

/// A session says how far its user has read in a room, or (1.2) in one of
/// its threads.
struct read_request {
  std::string room;
  std::string user;
  message_id id;
  std::optional<message_id> root; ///< a thread's read position: the thread's root
};

/// (1.2) Which threads of a room a user follows.
struct threads_query {
  std::string room;
  std::string user;
};

/// The bus's answer to read_atom: the `read` event. When the position moved
/// it was also published to the user's sessions on every node.
struct read_result {
  frame_ptr frame;
  bool published = false;
  std::optional<refusal> refused; ///< nothing to read in the room
};

/// A user's read position moved: their sessions in the room are told.
struct read_notice {
  std::string user;
  frame_ptr frame;
};

/// (1.2) The file catalog's answer about the files a `send` names, to the
/// session that asked: the files as stored, or why they cannot be sent.
struct files_checked {
  std::vector<shared_file> files;
  std::string refusal;      ///< non-empty: not this user's, not for this room, or sent already
  bool unavailable = false; ///< the store could not be asked
};

/// (1.2) A browser's push subscription for a user, as the browser gave it.
struct push_subscription {
  std::string user;
  std::string endpoint; ///< the push service's URL for this browser
  std::string p256dh;   ///< the browser's P-256 key, base64url
  std::string auth;     ///< the browser's 16-byte secret, base64url
};

/// (1.2) A user's notification level in a room.
struct notify_setting {
  std::string user;
  std::string room;
  std::string level; ///< all, mentions or none
};

/// (1.2) A message just stored that may owe its room's users a push: the
/// bus decides who (their level, not its sender, away from the room on
/// every node, not read yet) and folds it into each one's pending push.
struct push_owed_message {
  std::string room;
  std::string id;                     ///< the message's
  std::string sender;                 ///< its user
  std::string text;                   ///< its text, cut to what a push shows
  bool dm = false;                    ///< a direct conversation
  std::vector<std::string> mentioned; ///< the names its text mentions
};

/// (1.2) One user's push for one room, due and claimed by this node for a
/// while (another node takes it over when that passes without a settle).
struct claimed_push {
  std::string key; ///< what settles it
  std::string user;
  std::string room;
  std::string id;     ///< the newest message folded in
  std::string sender; ///< its user
  std::string text;
  bool dm = false;
  std::uint32_t count = 1;          ///< messages folded in
  std::int64_t first_try_ms = 0;    ///< when sending began; 0: not yet
  std::uint32_t attempts = 0;       ///< sends that ended in a retry
  std::vector<std::string> pending; ///< endpoints still owed; empty: all of the user's
};

/// (1.2) What became of a claimed push: settled (no retry), or to be sent
/// again at `retry_at_ms` to the endpoints in `pending`.
struct push_settlement {
  std::string key;
  std::int64_t retry_at_ms = 0; ///< 0: settled
  std::int64_t first_try_ms = 0;
  std::uint32_t attempts = 0;
  std::vector<std::string> pending;
};

/// (1.2) What a push service answered one push: its HTTP status (0: no
/// answer: refused address, TLS, network or time), and how long it asked
/// to wait (Retry-After, seconds; -1 when it did not say).
struct push_outcome {
  int status = 0;
  int retry_after = -1;
  std::string error;    ///< why, when there was no status
  bool refused = false; ///< the node will never post there (its address, host or scheme): dropped
};

/// (1.2) Pushes pending or being sent in a deployment at once, at most; past
/// it a new one is dropped.
inline constexpr std::size_t max_pending_pushes = 100000;

/// (1.2) At most this many push subscriptions per user (browsers and
/// devices); another endpoint past it is refused.
inline constexpr std::size_t max_push_subscriptions = 10;
/// (1.2) Levels are kept for at most this many rooms per user; a level for
/// another room past it is refused.
inline constexpr std::size_t max_notify_levels = 1000;

} // namespace chatnode

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::push_subscription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::notify_setting)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<chatnode::notify_setting>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::push_owed_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::claimed_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<chatnode::claimed_push>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<chatnode::push_subscription>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::push_settlement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::push_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::stored_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::message_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::room_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::presence_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::presence_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::join_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::members_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::recent_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::history_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::store_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::store_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::preview_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::cached_preview)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<chatnode::link_preview>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::link_preview)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::read_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::threads_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::followed_threads)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::read_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::read_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::files_checked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::admit_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::admission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::moderation_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::kick_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::dm_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::directory_watcher)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::directory_listing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::user_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::api_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::api_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::conversation_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::archive_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::entries_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::entry_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::search_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::archived_mark)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::hook_claim_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::hook_lease)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::hook_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::command_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::command_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::erase_result)

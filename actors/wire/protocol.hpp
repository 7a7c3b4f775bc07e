#pragma once
// The wire protocol (PROTOCOL.md): decoding client frames and encoding node
// events. The only code that knows the JSON shape of the protocol.

#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/close_code.hpp"
#include "actors/contracts/error_code.hpp"
#include "actors/contracts/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chatnode {

inline constexpr int protocol_version = 1;
inline constexpr std::size_t max_room_chars = 64;
inline constexpr std::size_t max_name_chars = 32;
inline constexpr std::size_t max_cid_chars = 64;
inline constexpr std::size_t max_page_size = 100;
inline constexpr std::size_t max_search_chars = 200;
inline constexpr std::size_t default_search_page = 20;
inline constexpr std::size_t max_search_page = 50;
inline constexpr std::size_t default_members_page = 100;
inline constexpr std::size_t max_members_page = 500;
inline constexpr std::size_t max_token_chars = 4096;
inline constexpr std::size_t max_emoji_bytes = 16;
inline constexpr std::size_t max_files_per_message = 10;
inline constexpr std::int64_t max_moderation_seconds =
  10LL * 365 * 24 * 3600; ///< ten years: longer is "until lifted"

/// Limits that decoding enforces.
struct protocol_limits {
  std::size_t max_text_chars = 4000;
  std::size_t default_page_size = 50;
  std::size_t max_json_depth = 16; ///< arrays and objects nested deeper are refused unparsed
};

enum class request_type {
  join,
  leave,
  send,
  history,
  typing,
  edit,
  remove,
  react,
  read,
  moderate,
  dm,
  rooms,
  dms,
  search,
  members,          ///< (1.1) a page of a room's member names
  thread,           ///< (1.2) a page of a thread's messages
  upload,           ///< (1.2) leave to upload a file
  threads,          ///< (1.2) the threads of a room the user follows
  thread_read,      ///< (1.2) the user's read position in a thread
  push_key,         ///< (1.2) the deployment's VAPID public key, for Web Push
  push_subscribe,   ///< (1.2) a browser's push subscription to keep for the user
  push_unsubscribe, ///< (1.2) one to forget
  notify,           ///< (1.2) the user's notification level in a room
  notify_levels,    ///< (1.2) the user's levels in every room they set one
  auth,             ///< (1.2) a fresh token for the connection's user
  commands          ///< (1.2) the slash commands the node knows
};

/// A decoded, validated client request.
struct request {
  request_type type = request_type::join;
  std::string room;
  std::string name;                                   ///< join: trimmed display name
  std::string token;                                  ///< join: optional, see actors/people/token.hpp
  std::string text;                                   ///< send, edit; search: the words (trimmed)
  std::string cid;                                    ///< send, edit, delete, react: optional
  std::optional<message_id> since;                    ///< join: optional
  std::optional<message_id> before;                   ///< history, search: optional
  std::size_t limit = 0;                              ///< history, search: page size, defaulted
  message_id target;                                  ///< edit, delete, react: the message changed
  std::string emoji;                                  ///< react
  bool on = true;                                     ///< react: added (false: taken back)
  message_id read;                                    ///< read, thread_read: the newest message read
  moderation_action action = moderation_action::kick; ///< moderate
  std::string user;                                   ///< moderate: whom; dm: the other user
  std::optional<std::int64_t> seconds;                ///< moderate: how long (mute, ban); none: until lifted
  std::size_t offset = 0;                             ///< rooms: where the page starts (the cursor)
  bool watch = false;                                 ///< rooms: room_update events from now on
  std::optional<std::string> after;                   ///< members: the page starts after this name
  std::optional<message_id> reply_to;                 ///< send: optional, the message it quotes
  std::optional<message_id> thread; ///< send: optional, the thread's root; thread, thread_read: the root
  std::string file_name;            ///< upload: the file's name (1 to 255 bytes)
  std::uint64_t file_size = 0;      ///< upload: its size in bytes
  std::string mime;                 ///< upload: its type, lower case, without parameters
  std::vector<std::string> files;   ///< send: ids of files uploaded to the room (1.2)
  std::string endpoint;             ///< push_subscribe, push_unsubscribe: the push service's URL (1.2)
  std::string p256dh;               ///< push_subscribe: the browser's key (base64url, no padding)
  std::string push_secret;          ///< push_subscribe: the browser's `auth` secret (base64url, no padding)
  std::string level;                ///< notify: all, mentions or none
};

/// Why a frame was refused.
struct decode_error {
  error_code code;
  std::string reason;
  std::string cid;       ///< echoed when the frame carried a usable one
  bool too_deep = false; ///< refused for its nesting depth
};

using decode_result = result<request, decode_error>;

/// Decodes and validates one client text frame.
decode_result decode_request(std::string_view frame, const protocol_limits& limits);

/// True for 1 to 64 characters of [A-Za-z0-9_.-].
bool valid_room(std::string_view room);
/// One emoji: 1 to 16 bytes of UTF-8 with no ASCII but a keycap's digit,
/// `#` or `*` (so no letters, spaces or controls), and no blank code points.
bool valid_emoji(std::string_view emoji);
/// Number of code points in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);
/// True when arrays and objects in `json` nest deeper than `max_depth`
/// (a scan that reads strings but builds nothing).
bool nesting_exceeds(std::string_view json, std::size_t max_depth);

// -- encoding node events ---------------------------------------------------

/// `token_required`: joins must carry a token (adds "auth":"token");
/// `file_bytes`: the node takes uploads up to this size (adds "files", 1.2).
std::string encode_welcome(std::string_view node, std::string_view session, bool token_required = false,
                           std::uint64_t file_bytes = 0);
/// What `joined` carries beside members and history.
struct joined_extras {
  std::optional<message_id> read; ///< the user's read position (null when none)
  std::size_t unread = 0;         ///< messages after it
  std::string_view peer;          ///< a direct conversation's other user (adds "dm":true)
  std::string_view role;          ///< the user's role, when not a member
  std::size_t count = 0;          ///< (1.1) names in the room; `members` may list fewer
  bool members_more = false;      ///< (1.1) `members` is a first page: names follow
};
std::string encode_joined(std::string_view room, const std::vector<std::string>& members,
                          const message_page& history, const joined_extras& extras = {});
std::string encode_message(const chat_message& msg);
/// A message as it now is, for snapshots: with `edited`, `deleted` and
/// `reactions` (always present, maybe empty); a deleted one has empty text.
std::string encode_current_message(const chat_message& msg, const message_state& state);
/// An `edit`, `delete` or `reaction` event.
std::string encode_change(const message_change& change);
/// (1.2) The fields a store (Redis) writes a thread into an event with:
/// a message's `open root close`; a deleted thread message's `open root
/// close replies n last_reply ts-or-null`, right after its ts.
struct thread_fragments {
  std::string open;
  std::string close;
  std::string replies;
  std::string last_reply;
};
const thread_fragments& thread_fields();
std::string encode_read(std::string_view room, message_id id, std::size_t unread);
/// (1.2) A user's read position in a thread; none: a thread they do not follow.
std::string encode_thread_read(std::string_view room, message_id root, std::optional<message_id> id,
                               std::size_t unread);
/// (1.2) `push_subscribed` or `push_unsubscribed` (as `type` says): the
/// endpoint, with the request's cid when it had one.
std::string encode_push_subscription(std::string_view type, std::string_view endpoint, std::string_view cid);
/// (1.2) `notify`: the user's level in a room, to each of their sessions.
std::string encode_notify(std::string_view room, std::string_view level);
/// (1.2) `push_key`: the deployment's VAPID public key (base64url), with
/// the request's cid when it had one.
std::string encode_push_key(std::string_view key, std::string_view cid);
/// (1.2) `auth`: the connection's token is good until `exp` (seconds since
/// the epoch), with the request's cid when it had one.
std::string encode_auth(std::int64_t exp, std::string_view cid);

/// (1.2) `commands`: the slash commands a client may offer, each with where
/// it works (no rooms: everywhere).
struct command_entry {
  std::string name;
  std::string description;
  std::string usage;
  std::vector<std::string> rooms;
};
std::string encode_commands(const std::vector<command_entry>& commands, std::string_view cid);

/// (1.2) `command`: what became of a slash command the client sent: its
/// answer for the caller alone (`text`), or the id of the message its bot
/// posted (`id`), or neither when it answered nothing to show.
std::string encode_command(std::string_view room, std::string_view command, std::string_view cid,
                           std::string_view text, std::optional<message_id> posted);
/// (1.2) `notify_levels`: the user's levels (room -> level), with the request's cid.
std::string encode_notify_levels(const std::vector<std::pair<std::string, std::string>>& levels,
                                 std::string_view cid);
/// (1.2) The threads of a room a user follows.
std::string encode_threads(std::string_view room, const followed_threads& threads);
std::string encode_moderation(const moderation_event& event);
/// A page of the room directory; `next` is the cursor of the page after, if any.
std::string encode_rooms(const std::vector<directory_entry>& rooms, std::optional<std::size_t> next);
std::string encode_room_update(const directory_entry& entry);
/// A direct conversation someone opened with the user.
std::string encode_conversation(std::string_view room, std::string_view peer);
/// The user's direct conversations.
std::string encode_conversations(const std::vector<std::pair<std::string, std::string>>& list);
std::string encode_kicked(std::string_view room, std::string_view by);
std::string_view to_string(moderation_action action);
/// A moderation action's name; nullopt for none.
std::optional<moderation_action> moderation_action_named(std::string_view name);

/// A `message` event around a gap for the id and the ts, for a store (Redis)
/// that assigns both: head + id + middle + ts + tail.
struct message_template {
  std::string head;
  std::string middle;
  std::string tail;
};
/// A message's thread goes right after the ts (thread_fields()), before
/// the tail: the store may name the root's own thread instead.
message_template encode_message_template(std::string_view room, std::string_view user, std::string_view text,
                                         std::string_view cid,
                                         std::optional<message_id> reply_to = std::nullopt,
                                         const std::vector<shared_file>& files = {}, bool bot = false,
                                         std::string_view display = {});
/// A change event around a gap for its id and a number: the ts of an edit
/// or delete, or the count after a reaction (its id and that are the store's).
message_template encode_change_template(const message_change& change);
std::string encode_presence(std::string_view room, std::string_view user, bool joined, std::size_t count);
/// (1.1) A big room's presence changes of an interval, as they change one
/// member's list: names to add and to remove (each in name order), the
/// room's count after them, and `upto` when the list holds names up to it only.
std::string encode_presence_diff(std::string_view room, const std::vector<std::string>& joins,
                                 const std::vector<std::string>& leaves, std::size_t count,
                                 std::string_view upto = {});
/// (1.1) A page of a room's member names, answering `members`.
std::string encode_members(std::string_view room, const std::vector<std::string>& names, std::size_t count,
                           bool more);
std::string encode_typing(std::string_view room, std::string_view user);
/// (1.2) Where to PUT the bytes of file `file`.
std::string encode_upload(std::string_view room, std::string_view file, std::string_view url,
                          std::string_view cid);
std::string encode_history(std::string_view room, const message_page& page);
/// (1.2) A page of a thread's messages, oldest first.
std::string encode_thread(std::string_view room, message_id root, const message_page& page);
/// A search's answer: `page` newest first.
std::string encode_search(std::string_view room, std::string_view query, const message_page& page);
std::string encode_error(error_code code, std::string_view reason, std::string_view cid = {});

} // namespace chatnode

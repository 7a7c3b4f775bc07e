#pragma once
// The Redis bridge's insides, shared by its parts: the actor
// (redis_bridge.cpp), commands and scripts (redis_bridge_calls.cpp), room
// streams and catch-up (redis_bridge_rooms.cpp) and presence
// (redis_bridge_presence.cpp). Nothing outside the bridge includes this.

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/redis_bus/redis_bridge.hpp"
#include "actors/redis_bus/redis_keys.hpp"
#include "actors/redis_bus/redis_port.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::redis_reply)

namespace chatnode::bridge {

using link_atom = caf::atom_constant<caf::atom("link")>;
using channel_atom = caf::atom_constant<caf::atom("channel")>;
using unsubscribed_atom = caf::atom_constant<caf::atom("unsub")>;
using published_atom = caf::atom_constant<caf::atom("published")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;

constexpr int command_link = 0; ///< forward_redis_events(bridge, 0); the subscriber is 1

using clock = std::chrono::steady_clock;

struct waiting_query {
  recent_query query;
  caf::response_promise promise;
  clock::time_point since;
};

/// A message that came by the channel while it could not be handed on yet.
struct held_message {
  stored_message message;
  /// The entry before it in the stream, when replicated publishing says so.
  std::optional<message_id> previous;
};

/// A room this node has local members in.
struct room_link {
  hub_actor hub;
  bool subscribed = false;    ///< SUBSCRIBE confirmed on the current link
  bool needs_catch_up = true; ///< the stream may hold what the channel did not bring
  bool catching_up = false;
  /// Read the stream at least this far: a published message whose
  /// predecessors this node has not seen (replicated publishing).
  std::optional<message_id> catch_up_to;
  std::optional<message_id> last; ///< newest message handed to the hub
  std::vector<held_message> held; ///< live messages that came during a catch-up
  std::vector<waiting_query> waiting;
  bool subscribed_before = false;
  bool resync_due = false; ///< presence may have been lost; tell the hub once Redis answers
};

/// The names of one room this node last told Redis about, or still must,
/// and how many of them are present: a join asks whether the node has
/// others there, which must not cost a walk over a room of 100,000.
struct told_names {
  std::map<std::string, bool> present; ///< name -> present
  std::size_t present_count = 0;

  void set(const std::string& name, bool here) {
    auto it = present.try_emplace(name, false).first;
    if (it->second == here)
      return;
    it->second = here;
    if (here)
      ++present_count;
    else
      --present_count;
  }
  /// Forgets a name whose absence Redis has confirmed.
  void forget_absent(const std::string& name) {
    if (auto it = present.find(name); it != present.end() && !it->second)
      present.erase(it);
  }
  bool others_present(const std::string& name) const {
    auto it = present.find(name);
    return present_count > (it != present.end() && it->second ? 1 : 0);
  }
};

/// A Lua script and its SHA-1, by which Redis caches it (EVALSHA).
struct lua_script {
  explicit lua_script(const char* text);
  std::string source;
  std::string sha;
};

struct bridge_state {
  redis_bridge_settings settings;
  stats_ptr stats;
  redis_keys keys{"chatnode:"};
  std::shared_ptr<redis_port> commands;
  std::shared_ptr<redis_port> subscriber;
  bool command_up = false;
  bool subscriber_up = false;
  std::string command_reason = "connecting";
  std::string subscriber_reason = "connecting";
  std::unordered_map<std::string, room_link> rooms;
  std::unordered_map<std::string, std::string> channel_rooms; ///< channel -> room
  /// name -> present, per room, as this node last told Redis or still must.
  std::map<std::string, told_names> names;
  std::set<std::string> unsynced_rooms; ///< presence not yet confirmed by Redis
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, std::pair<clock::time_point, std::function<void(redis_reply)>>> calls;
  /// Listed rooms this node stored messages in since the directory last
  /// heard: room -> newest ms. Written to Redis once a second.
  std::map<std::string, std::int64_t> directory_dirty;
  /// Members of listed rooms noted since the directory last heard, written
  /// with the activity once a second: a join storm is not a directory write
  /// per join on every node.
  struct noted_members {
    std::optional<std::uint64_t> emptied; ///< the newest version that left the room empty
    std::optional<std::pair<std::uint64_t, std::size_t>> last; ///< (version, members) after it
  };
  std::map<std::string, noted_members> directory_members;
  /// This node's hub, for notices to users whatever rooms they are in.
  hub_actor notice_hub;
  /// The archive, told of entries stored or seen; none without one.
  archive_actor archive;
  std::uint64_t archive_hold = 0; ///< entries per room held for the archive at most
  /// Work to do later on the actor, by timer token (after()).
  std::unordered_map<std::uint64_t, std::function<void()>> timers;

  /// Whether a message is published only once it reached its replicas.
  bool replicated() const { return settings.wait_replicas > 0; }
  /// "1" when readers see a room's stream only up to its watermark.
  const char* replicated_flag() const { return replicated() ? "1" : "0"; }
  std::string publish_command() const { return settings.sharded ? "SPUBLISH" : "PUBLISH"; }

  static inline const char* name = "redis_bridge";
};

/// The bus interface, and what the bridge's connections and timer send it.
using redis_bridge_actor =
  bus_actor::extend<caf::reacts_to<link_atom, int, bool, std::string>,
                    caf::reacts_to<reply_atom, std::uint64_t, redis_reply>,
                    caf::reacts_to<channel_atom, std::string>, caf::reacts_to<unsubscribed_atom, std::string>,
                    caf::reacts_to<published_atom, std::string, std::string>, caf::reacts_to<tick_atom>,
                    caf::reacts_to<flush_atom>, caf::reacts_to<timer_atom, std::uint64_t>>;

using bridge_actor = redis_bridge_actor::stateful_base<bridge_state>;

// -- commands and scripts (redis_bridge_calls.cpp) ---------------------------------

/// The scripts of actors/redis_bus/lua/.
namespace scripts {
extern const lua_script store, replicated, snapshot, catch_up, archived, history, read, admit, moderate,
  directory, presence, refresh;
} // namespace scripts

/// A callback for a port that hands the reply to `k` on the actor.
redis_callback on_actor(bridge_actor* self, std::function<void(redis_reply)> k);
/// Sends a command; `k` runs on the actor with the reply (an error reply when
/// the link is down).
void call(bridge_actor* self, std::vector<std::string> args, std::function<void(redis_reply)> k);
/// Runs a script by its SHA, or by its source when Redis does not know it.
/// With `replicas`, answered once the script's writes reached them.
void run_script(bridge_actor* self, const lua_script& s, std::vector<std::string> keys,
                std::vector<std::string> args, std::function<void(redis_reply)> k, int replicas = 0);
/// Runs `f` on the actor after `delay`.
void after(bridge_actor* self, std::chrono::milliseconds delay, std::function<void()> f);
/// Sets the process's Redis readiness from the links' state.
void publish_status(bridge_actor* self);

// -- rooms: streams, catch-up, stores (redis_bridge_rooms.cpp) ---------------------

const std::string* room_of_channel(const bridge_state& st, const std::string& channel);
void lose_subscription(room_link& r);
void catch_up(bridge_actor* self, const std::string& room);
void on_message(bridge_actor* self, const std::string& room, room_link& r, char kind, std::string_view head,
                std::string frame);
/// The keys snapshot.lua reads.
std::vector<std::string> snapshot_keys(const bridge_state& st, const std::string& room);
void answer_snapshot(bridge_actor* self, const std::string& room, waiting_query w);
/// A read position from the channel: `head` is "<id> <unread>".
void on_read(bridge_actor* self, room_link& r, const std::string& room, std::string_view head,
             std::string user);
void answer_history(bridge_actor* self, const history_query& query, caf::response_promise promise);
void store(bridge_actor* self, const store_request& req, caf::response_promise promise);
void mark_read(bridge_actor* self, const read_request& req, caf::response_promise promise);

// -- people: admission, moderation, direct conversations (redis_bridge_people.cpp) --

void admit(bridge_actor* self, const admit_request& req, caf::response_promise promise);
void moderate(bridge_actor* self, const moderation_request& req, caf::response_promise promise);
void open_dm(bridge_actor* self, const dm_request& req, caf::response_promise promise);
void list_conversations(bridge_actor* self, const std::string& user, caf::response_promise promise);
/// A payload on the people channel: "n<user>\n<frame>" for a user's sessions.
void on_people(bridge_actor* self, std::string payload);
/// Closes a user's connections on every node (the people channel).
void disconnect_everywhere(bridge_actor* self, const std::string& user);

// -- the room directory (redis_bridge_directory.cpp) ---------------------------------

/// A presence event this node saw: the room's members as of that version.
void note_members(bridge_actor* self, const std::string& room, std::uint64_t version, std::size_t members);
/// A message this node stored: the room's last activity, written within a second.
void note_activity(bridge_actor* self, const std::string& room, std::int64_t ms);
/// Writes the activity noted since the last flush.
void flush_directory(bridge_actor* self);
void list_rooms(bridge_actor* self, caf::response_promise promise);
/// A kick from the channel: `head` is the user, `by` the moderator.
void on_kick(bridge_actor* self, room_link& r, const std::string& room, std::string user, std::string by);
/// Publishes a stored entry once it reached the replicas, then answers.
void publish_replicated(bridge_actor* self, const std::string& room, store_result result,
                        const std::string& previous, caf::response_promise promise);
void expire_waiting(bridge_actor* self);

// -- the archive's side (redis_bridge_archive.cpp) ----------------------------------

/// Tells the archive (if any) that a room has an entry up to `id`.
void tell_archive(bridge_actor* self, const std::string& room, message_id id, bool stored_here);
/// A room's entries after a mark, as published, up to what readers may see.
void answer_entries(bridge_actor* self, const entries_query& query, caf::response_promise promise);
/// With an archive, a page that reached the oldest retained message still
/// has `more` when messages were stored before it: `entries` (a script's
/// answer, in any order) decide.
bool older_archived(const bridge_state& st, const std::vector<redis_reply>& entries);
/// The archive holds a room's entries up to a mark: store.lua may trim them.
void note_archived(bridge_actor* self, const archived_mark& m);

// -- presence (redis_bridge_presence.cpp) -------------------------------------------

/// `check_live`: a reply saying the node was not live in the room starts a
/// full sync (not for the calls of that sync itself).
void send_presence(bridge_actor* self, const std::string& room, const std::string& name, bool present,
                   bool check_live = true);
void sync_unsynced(bridge_actor* self);
void send_resyncs(bridge_actor* self);
void refresh_room(bridge_actor* self, const std::string& room);
void answer_who(bridge_actor* self, const std::string& room, caf::response_promise promise);
/// A presence event from the channel: `rest` is "<join|leave>\n<count>\n<user>".
void on_presence(bridge_actor* self, room_link& r, const std::string& room, std::string_view version,
                 std::string_view rest);
/// The names in a room's members hash, whose fields are "<node>\n<name>".
std::vector<std::string> distinct_names(const redis_reply& fields);

} // namespace chatnode::bridge

#pragma once
// The bus: where messages are stored, given their ids, and published to every
// node's hub. Two implementations speak the same actor messages (see
// messages.hpp): the embedded bus for a single node (actors/embedded_bus/),
// and the Redis bridge (actors/redis_bus/).
//
// Contract every bus keeps:
// - store_atom stores a message, or a change of one (edit, delete,
//   reaction), atomically with an id from the room's one sequence, and
//   publishes it to the room's subscribers in id order; a repeated
//   (user, cid) is answered with what it stored and not published again. A
//   change is checked against its target (retained, not deleted, the author's
//   for edits and deletes) and applied to the target's current state, which
//   snapshots and history pages show; a reaction already so is answered
//   `unchanged` and not stored.
// - read_atom moves a user's read position forward, and when it moved tells
//   the hubs (read_atom) so that the user's sessions on every node hear it.
// - deliver_atom reaches a subscribed hub in increasing id order per room.
// - member_atom says whether a name is present in a room on the sending
//   node; the bus counts names over all nodes and publishes presence_atom
//   when a name appears or disappears, with versions one apart per room
//   (a hub that sees a gap has missed an event).
// - who_atom answers the names present in a room over all nodes, with the
//   version of the last presence event they reflect.
// - A bus that may have lost presence events on their way to a hub (its
//   link to the other nodes broke) sends the hub resync_atom once it can
//   answer who_atom again.
// - A reply to recent_atom reflects at least every message delivered to the
//   hub before it; it may also hold messages delivered after it (the hub
//   drops those as duplicates by id).

//
// Each message is declared once below; `bus_actor` is all of them, what a
// bus implements. Its users hold a view narrowed to what they send
// (`hub_bus`, `session_bus`, ...), so the compiler says who may send what: a
// view converts from `bus_actor` only while it is a subset of it.

#include "actors/contracts/file_catalog.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/contracts/push_identity.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace chatnode {

struct bus_settings {
  std::size_t retention = 1000; ///< messages kept per room (with the changes after the oldest)
  /// (1.2) Where the files messages share are; a deleted message's are removed.
  std::shared_ptr<const file_catalog> files{};
  /// (1.2) Where the embedded bus keeps push subscriptions and levels
  /// across restarts; empty: in memory only (the Redis bridge keeps them in Redis).
  std::string push_file{};
  /// (1.2) How long a pending push gathers a user's messages in a room.
  std::int64_t push_fold_ms = 30000;
  /// (1.2) The deployment's push identity, told when the file holds
  /// subscriptions; none: push is off.
  std::shared_ptr<const push_identity> push_key{};
};

namespace bus_message {
// -- messages and their changes
/// Stores a message or a change once per (user, cid).
using store = caf::replies_to<store_atom, store_request>::with<store_result>;
/// Moves a user's read position forward, in a room or (1.2) a thread.
using read = caf::replies_to<read_atom, read_request>::with<read_result>;
/// (1.2) The threads of a room a user follows.
using threads = caf::replies_to<threads_atom, threads_query>::with<followed_threads>;
/// A page of older messages.
using history = caf::replies_to<history_atom, history_query>::with<message_page>;
/// Relays a typing notice: (room, user, session).
using typing = caf::reacts_to<typing_atom, std::string, std::string, std::string>;

// -- rooms, as a hub follows them
/// A hub wants a room's events: (room, hub).
using subscribe = caf::reacts_to<subscribe_atom, std::string, hub_actor>;
using unsubscribe = caf::reacts_to<unsubscribe_atom, std::string, hub_actor>;
/// A name is present in a room on this node, or no longer: (room, name, present).
using member = caf::reacts_to<member_atom, std::string, std::string, bool>;
/// What a member entering a room needs.
using recent = caf::replies_to<recent_atom, recent_query>::with<room_snapshot>;
/// Who is in a room over all nodes: (room).
using who = caf::replies_to<who_atom, std::string>::with<presence_snapshot>;

// -- people
/// Whether a user may enter a room.
using admit = caf::replies_to<admit_atom, admit_request>::with<admission>;
/// A moderation action, stored as an event in the room's order.
using moderate = caf::replies_to<moderate_atom, moderation_request>::with<store_result>;
/// The room of two users' direct conversation (made on first use).
using dm = caf::replies_to<dm_atom, dm_request>::with<std::string>;
/// A user's direct conversations: (user).
using dms = caf::replies_to<dms_atom, std::string>::with<conversation_list>;
/// Every listed room with its members and last activity.
using rooms = caf::replies_to<rooms_atom>::with<directory_listing>;
/// Closes a user's connections on every node: (user).
using disconnect = caf::reacts_to<disconnect_atom, std::string>;

// -- the archive's feed
/// A room's entries as published, for the archive.
using entries = caf::replies_to<entries_atom, entries_query>::with<entry_batch>;
/// The archive to tell of entries stored, and how many entries per room to
/// hold for it at most; pages then say `more` where older messages were
/// stored, though no longer retained.
using archiver = caf::reacts_to<archiver_atom, archive_actor, std::uint64_t>;
/// The archive holds a room's entries this far: they may leave the bus.
using archived = caf::reacts_to<archived_atom, archived_mark>;

// -- the webhooks' feed (1.2)
/// The webhook sender to tell of entries stored, and how many entries per
/// room to hold for it at most, and whether private rooms' entries go to it
/// (webhook_room): (sender, hold, private rooms).
using hooker = caf::reacts_to<hooker_atom, webhook_actor, std::uint64_t, bool>;
/// Claims a room's delivery: one node at a time delivers a room's entries,
/// so they go out in its order; a lease not renewed runs out, and another
/// node takes the room over from the cursor.
using hook_claim = caf::replies_to<hookclaim_atom, hook_claim_request>::with<hook_lease>;
/// Moves a room's webhook cursor (only by the lease's holder); entries up
/// to it may leave the bus.
using hook_move = caf::replies_to<hookmove_atom, hook_progress>::with<bool>;

// -- files (1.2)
/// Counts bytes a user announces for upload today, on every node alike:
/// (user, bytes, daily limit); false, nothing counted, past the limit.
using quota = caf::replies_to<quota_atom, std::string, std::uint64_t, std::uint64_t>::with<bool>;

// -- link previews (1.2)
/// What the cache holds for a link: (url). Every node asks the same cache,
/// so a link is fetched once an hour, by one node at a time.
using preview_lookup = caf::replies_to<pvlookup_atom, std::string>::with<cached_preview>;
/// What a fetch of a link found, kept an hour: (url, preview or none).
using preview_keep = caf::reacts_to<pvkeep_atom, std::string, std::optional<link_preview>>;

// -- push notifications (1.2)
/// Keeps a user's push subscription (the same endpoint again: its keys
/// replaced); false, nothing kept, when the user has the most already.
using push_subscribe = caf::replies_to<pushsub_atom, push_subscription>::with<bool>;
/// Forgets one: (user, endpoint); whether it was kept.
using push_unsubscribe = caf::replies_to<pushunsub_atom, std::string, std::string>::with<bool>;
/// Keeps a user's level in a room and tells their sessions on every node;
/// false, nothing kept, when the user has levels in the most rooms already.
using notify = caf::replies_to<notify_atom, notify_setting>::with<bool>;
/// A user's levels, in every room they set one: (user).
using notify_levels = caf::replies_to<notifylv_atom, std::string>::with<std::vector<notify_setting>>;
/// Decides who a stored message owes a push (see push_owed_message) and
/// folds it into their pending pushes, each due `fold` after its first
/// message; answers for how many users it opened a pending push, and into
/// how many it folded.
using push_owe = caf::replies_to<pushowe_atom, push_owed_message>::with<std::uint32_t, std::uint32_t>;
/// Claims up to n pushes that are due (or whose claim by another node ran
/// out), each for `lease` ms: (n, lease ms).
using push_due = caf::replies_to<pushdue_atom, std::uint32_t, std::int64_t>::with<std::vector<claimed_push>>;
/// Whether a user is still away from a room (no session of theirs has it
/// joined on any node) and has not read up to the message: (room, user, id).
using push_away = caf::replies_to<pushaway_atom, std::string, std::string, std::string>::with<bool>;
/// A user's push subscriptions: (user).
using push_subscriptions = caf::replies_to<pushsubs_atom, std::string>::with<std::vector<push_subscription>>;
/// What became of a claimed push.
using push_settle = caf::reacts_to<pushsettle_atom, push_settlement>;
/// The embedded bus's own timer: subscriptions and levels changed within
/// the last second are written to its file (the Redis bridge ignores it).
using push_save = caf::reacts_to<pushsave_atom>;
} // namespace bus_message

/// The bus: stores messages, gives them ids, publishes them to every node's
/// hub and keeps presence over all nodes.
using bus_actor = caf::typed_actor<
  bus_message::store, bus_message::read, bus_message::history, bus_message::typing, bus_message::subscribe,
  bus_message::unsubscribe, bus_message::member, bus_message::recent, bus_message::who, bus_message::admit,
  bus_message::moderate, bus_message::dm, bus_message::dms, bus_message::rooms, bus_message::disconnect,
  bus_message::entries, bus_message::archiver, bus_message::archived, bus_message::quota,
  bus_message::preview_lookup, bus_message::preview_keep, bus_message::threads, bus_message::push_subscribe,
  bus_message::push_unsubscribe, bus_message::notify, bus_message::notify_levels, bus_message::push_owe,
  bus_message::push_due, bus_message::push_away, bus_message::push_subscriptions, bus_message::push_settle,
  bus_message::push_save, bus_message::hooker, bus_message::hook_claim, bus_message::hook_move>;

/// What a hub sends the bus: it follows rooms and who is in them.
using hub_bus = caf::typed_actor<bus_message::subscribe, bus_message::unsubscribe, bus_message::member,
                                 bus_message::recent, bus_message::who>;

/// What a session sends the bus for its client's requests.
using session_bus =
  caf::typed_actor<bus_message::store, bus_message::read, bus_message::history, bus_message::typing,
                   bus_message::admit, bus_message::moderate, bus_message::dm, bus_message::dms,
                   bus_message::rooms, bus_message::quota, bus_message::threads, bus_message::push_subscribe,
                   bus_message::push_unsubscribe, bus_message::notify, bus_message::notify_levels>;

/// What the command runner sends the bus: it posts its commands' answers.
using command_bus = caf::typed_actor<bus_message::store>;

/// What the previewer sends the bus: it asks the cache, and stores previews.
using preview_bus =
  caf::typed_actor<bus_message::store, bus_message::preview_lookup, bus_message::preview_keep>;

/// What the pusher sends the bus: it owes, claims, checks and settles
/// pushes, and drops subscriptions their push service no longer knows.
using push_bus =
  caf::typed_actor<bus_message::push_owe, bus_message::push_due, bus_message::push_away,
                   bus_message::push_subscriptions, bus_message::push_settle, bus_message::push_unsubscribe>;

/// What the directory watcher asks the bus.
using directory_bus = caf::typed_actor<bus_message::rooms>;

/// What the server API sends the bus.
using api_bus = caf::typed_actor<bus_message::store, bus_message::moderate, bus_message::disconnect,
                                 bus_message::rooms, bus_message::who>;

/// What the webhook sender sends the bus: it claims rooms, reads their
/// entries and moves their cursors.
using webhook_bus = caf::typed_actor<bus_message::entries, bus_message::hook_claim, bus_message::hook_move>;

/// What the archive sends the bus: it reads the feed, marks what it holds,
/// and erases as a moderator would.
using archive_bus =
  caf::typed_actor<bus_message::entries, bus_message::archiver, bus_message::archived, bus_message::store>;

} // namespace chatnode

#pragma once
// What each actor takes and answers, as CAF typed actors: the compiler
// checks every send and request against these, and every implementation
// against its interface. The bus's interface, and the narrower views of it
// that its users hold, are in bus_interface.hpp; the payloads in messages.hpp.
//
//   edge    -> session : frame, binary, closed
//   session -> hub     : enter, leave, members
//   session -> bus     : store -> store_result, history -> message_page, typing,
//                        read -> read_result
//   hub     -> bus     : subscribe, unsubscribe, member, recent -> room_snapshot,
//                        who -> presence_snapshot
//   bus     -> hub     : deliver, presence, typing, resync, read, kick
//   hub     -> session : kicked
//   session -> bus     : admit -> admission, moderate -> store_result, dm -> room,
//                        rooms -> directory_listing
//   session -> directory: watch, unwatch;  directory -> bus: rooms
//   bus     -> archive : archive (work to do);  archive -> bus: entries -> entry_batch
//   session -> archive : history -> message_page, search -> message_page
//   bus     -> webhooks: webhook (work to do); webhooks -> bus: hookclaim -> hook_lease,
//                        entries -> entry_batch, hookmove -> bool
//   session -> previewer: preview;  previewer -> bus: pvlookup, pvkeep, store

#include "actors/contracts/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>

namespace chatnode {

/// A node's hub: the local members of every room, and the fan-out to them.
using hub_actor = caf::typed_actor<
  /// A session enters a room.
  caf::reacts_to<enter_atom, join_request>,
  /// A session leaves a room: (room, session).
  caf::reacts_to<leave_atom, std::string, std::string>,
  /// A stored message, in increasing id order per room: (room, message).
  caf::reacts_to<deliver_atom, std::string, stored_message>,
  /// Someone entered or left a room on some node: (room, event).
  caf::reacts_to<presence_atom, std::string, presence_event>,
  /// Someone is typing: (room, user, session), not told to that session.
  caf::reacts_to<typing_atom, std::string, std::string, std::string>,
  /// Presence events of a room may have been lost: ask the bus again.
  caf::reacts_to<resync_atom, std::string>,
  /// A user's read position moved: (room, notice) for that user's sessions.
  caf::reacts_to<read_atom, std::string, read_notice>,
  /// A user is put out of a room on every node: (room, notice).
  caf::reacts_to<kick_atom, std::string, kick_notice>,
  /// For a user's sessions here, whatever rooms they are in.
  caf::reacts_to<notice_atom, user_notice>,
  /// A session asks for a page of a room's members, answered to its sink: (room, query).
  caf::reacts_to<members_atom, std::string, members_query>,
  /// A big room's presence changes go out: (room, generation); the hub's own timer.
  caf::reacts_to<flush_atom, std::string, std::uint64_t>>;

/// The archive (archive.hpp): writes every room's entries to PostgreSQL
/// once, and answers pages older than the bus retains and searches.
using archive_actor = caf::typed_actor<
  /// A room has entries to archive.
  caf::reacts_to<archive_atom, archive_notice>,
  /// A page of archived messages older than `before`, oldest first.
  caf::replies_to<history_atom, history_query>::with<message_page>,
  /// Archived messages matching words, newest first.
  caf::replies_to<search_atom, search_query>::with<message_page>,
  /// Deletes a user's messages everywhere: what the bus retains (deleted as
  /// a moderator would) and the archive's rows: (user).
  caf::replies_to<erase_atom, std::string>::with<erase_result>,
  /// A room's own archive retention in days (0: the node's default): (room, days).
  caf::replies_to<retention_atom, std::string, std::int64_t>::with<bool>>;

/// (1.2) A node's webhook sender (actors/webhooks/): posts every room's
/// entries to the deployment's receiver, in each room's order.
using webhook_actor = caf::typed_actor<
  /// A room has entries to deliver.
  caf::reacts_to<webhook_atom, archive_notice>>;

/// (1.2) A node's command runner (actors/commands/): calls a slash
/// command's service and posts or returns its answer.
using commands_actor = caf::typed_actor<caf::replies_to<command_atom, command_request>::with<command_result>>;

/// A node's directory watcher: keeps the sessions that watch the room
/// directory current (directory.hpp).
using directory_actor =
  caf::typed_actor<caf::reacts_to<watch_atom, directory_watcher>, caf::reacts_to<unwatch_atom, std::string>,
                   caf::reacts_to<tick_atom>>;

/// The server API (api.hpp).
using api_actor = caf::typed_actor<caf::replies_to<api_atom, api_request>::with<api_response>>;

/// (1.2) The previewer: a message's first link to preview, and what the
/// node's fetcher found of it (its own message, back from the fetch).
using previewer_actor =
  caf::typed_actor<caf::reacts_to<preview_atom, preview_job>,
                   caf::reacts_to<fetched_atom, preview_job, std::optional<link_preview>>,
                   caf::reacts_to<pvowned_atom, preview_job, link_preview>>;

/// (1.2) The pusher: messages stored on this node that may owe pushes, its
/// timer, and what push services answered (its own messages, back from the
/// sender).
using pusher_actor =
  caf::typed_actor<caf::reacts_to<pushowe_atom, push_owed_message>, caf::reacts_to<tick_atom>,
                   caf::reacts_to<pushsent_atom, std::string, std::string, push_outcome>>;

/// (1.2) The issuer keeper (actors/people/issuer_keeper.hpp): the identity
/// provider's keys, fetched at start, every 10 minutes, and when a token
/// names a key not held (at most once per 30 seconds).
using issuer_actor = caf::typed_actor<
  /// A token names a key not held: true once the keys were fetched anew.
  caf::replies_to<jwks_atom>::with<bool>,
  /// Its refresh timer.
  caf::reacts_to<tick_atom>,
  /// What a fetch brought: (fetch number, the document, or why none came).
  caf::reacts_to<fetched_atom, std::uint64_t, std::string, std::string>>;

/// One client's session: what the edge decoded from its connection.
using session_actor = caf::typed_actor<
  /// A text frame.
  caf::reacts_to<frame_atom, std::string>,
  /// A binary frame (refused).
  caf::reacts_to<binary_atom>,
  /// The connection is gone.
  caf::reacts_to<closed_atom>,
  /// A moderator put this session out of a room.
  caf::reacts_to<kicked_atom, std::string>,
  /// (1.2) The files of the `send` it looked up (by the look-up's number).
  caf::reacts_to<files_atom, std::uint64_t, files_checked>,
  /// (1.2) Its token may have expired: its own timer.
  caf::reacts_to<expire_atom>>;

} // namespace chatnode

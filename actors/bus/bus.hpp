#pragma once
// The bus: where messages are stored, given their ids, and published to every
// node's hub. Two implementations speak the same actor messages (see
// messages.hpp): the embedded bus for a single node, and the Redis bridge.
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

#include <cstddef>

namespace chatnode {

struct bus_settings {
  std::size_t retention = 1000; ///< messages kept per room (with the changes after the oldest)
};

} // namespace chatnode

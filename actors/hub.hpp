#pragma once
// The hub: one per node. Knows which local sessions are in which room, asks
// the bus for a room's traffic while it has local members, and fans each
// event out to them, encoded once.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace chatnode {

/// Spawns the hub over a bus (embedded or Redis).
caf::actor spawn_hub(caf::actor_system& sys, caf::actor bus);

} // namespace chatnode

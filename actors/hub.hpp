#pragma once
// The hub: one per node. Knows which local sessions are in which room, asks
// the bus for a room's traffic while it has local members, and fans each
// event out to them, encoded once.

#include "actors/chat_stats.hpp"
#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>

namespace chatnode {

/// Spawns the hub over a bus (embedded or Redis).
hub_actor spawn_hub(caf::actor_system& sys, bus_actor bus, stats_ptr stats);

} // namespace chatnode

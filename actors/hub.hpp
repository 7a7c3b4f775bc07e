#pragma once
// The hub: one per node. Knows which local sessions are in which room, asks
// the bus for a room's traffic while it has local members, and fans each
// event out to them, encoded once.

#include "actors/chat_stats.hpp"
#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstddef>

namespace chatnode {

/// How the hub treats big rooms (PROTOCOL.md, "Big rooms").
struct hub_settings {
  /// A room with more members than this is big: its presence changes go out
  /// in batches, and `joined` lists the first this many names.
  std::size_t big_room = 100;
  /// A big room's members hear its presence changes at most this often.
  std::chrono::milliseconds batch_interval{500};
};

/// Spawns the hub over a bus (embedded or Redis).
hub_actor spawn_hub(caf::actor_system& sys, bus_actor bus, stats_ptr stats, hub_settings settings = {});

} // namespace chatnode

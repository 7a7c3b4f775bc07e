#pragma once
// The hub: one per node. Knows which local sessions are in which room, asks
// the bus for a room's traffic while it has local members, and fans each
// event out to them, encoded once.

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/bus_interface.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstddef>

namespace chatnode {

/// How the hub treats big rooms (PROTOCOL.md, "Big rooms").
struct hub_settings {
  /// A room with more members than this is big: its presence changes go out
  /// in batches, and `joined` lists the first this many names.
  std::size_t big_room = 100;
  /// A big room's members hear its presence changes at most this often...
  std::chrono::milliseconds batch_interval{500};
  /// ...and one interval more for every this many members: every member
  /// hears a batch (the count changed), so a room of 100,000 batched every
  /// 500 ms would be 200,000 writes a second. 0: the interval stays fixed.
  std::size_t batch_members = 10000;
};

/// The interval between a big room's batches, for a room of `members`.
std::chrono::milliseconds batch_interval_for(const hub_settings& settings, std::size_t members);

/// Spawns the hub over a bus (embedded or Redis).
hub_actor spawn_hub(caf::actor_system& sys, hub_bus bus, stats_ptr stats, hub_settings settings = {});

} // namespace chatnode

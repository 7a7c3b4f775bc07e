#pragma once
// The in-process bus a node runs on when no Redis is configured.

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/interfaces.hpp"

#include <caf/actor_system.hpp>

namespace chatnode {

/// Spawns the embedded bus.
bus_actor spawn_embedded_bus(caf::actor_system& sys, bus_settings settings, stats_ptr stats);

} // namespace chatnode

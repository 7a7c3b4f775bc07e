#pragma once
// The server API: what an operator's backend may do over HTTP (/api/), each
// request answered with JSON. The edge checks the key and moves the bytes;
// this actor reads the request and asks the bus.
//
//   GET  /api/rooms                       the listed rooms, most members first
//   GET  /api/rooms/{room}/members        who is in a room, over all nodes
//   POST /api/rooms/{room}/messages       {"user", "text"}: a message from a named system user
//   POST /api/rooms/{room}/moderation     {"action", "user", "seconds"?}: as a moderator would
//   POST /api/users/{user}/disconnect     closes the user's connections in rooms, on every node
//   POST /api/rooms/{room}/retention      {"days"}: the room's archive retention (0: the default)
//   POST /api/users/{user}/erase          deletes the user's messages everywhere (needs the archive)

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/bus_interface.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <string>

namespace chatnode {

/// The name moderation by the API is done under.
inline constexpr const char* api_moderator = "api";

/// Spawns the API actor; `on_moderation` is told of each moderation it does;
/// `archive` may be none.
api_actor spawn_api(caf::actor_system& sys, api_bus bus, protocol_limits limits, stats_ptr stats,
                    std::function<void(const moderation_request&)> on_moderation, archive_actor archive = {});

} // namespace chatnode

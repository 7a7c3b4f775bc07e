#pragma once
// The Redis bridge's state: its parts, each with its own state, in the order
// they depend on each other. The actor (redis_bridge.cpp) routes what
// concerns several parts; each part answers its own messages (handlers()).
// Nothing outside the bridge includes this.

#include "actors/redis_bus/redis_bridge_feed.hpp"
#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_core.hpp"
#include "actors/redis_bus/redis_bridge_directory.hpp"
#include "actors/redis_bus/redis_bridge_files.hpp"
#include "actors/redis_bus/redis_bridge_messages.hpp"
#include "actors/redis_bus/redis_bridge_people.hpp"
#include "actors/redis_bus/redis_bridge_presence.hpp"
#include "actors/redis_bus/redis_bridge_previews.hpp"
#include "actors/redis_bus/redis_bridge_push.hpp"
#include "actors/redis_bus/redis_bridge_pushes.hpp"
#include "actors/redis_bus/redis_bridge_rooms.hpp"

namespace chatnode::bridge {

struct bridge_state {
  explicit bridge_state(bridge_self self)
    : core{self} {}

  bridge_core core;                        ///< settings, keys, stats, the actor
  redis_calls calls{core};                 ///< links, replies awaited, timers
  entry_feed feed{core, calls};            ///< the archive and the webhooks: told of entries, their holds
  directory_writer directory{core, calls}; ///< members and activity not yet written
  file_keeper files{core, calls};          ///< the ticket secret, files sent and gone
  message_store messages{core, calls, feed, directory, files};
  presence_sync presence{core, calls, directory, [this](const std::string& room) { rooms.resync(room); }};
  room_links rooms{core, calls, messages, feed, presence}; ///< subscriptions, delivery, catch-up
  people_service people{core, calls, messages, feed};      ///< the notice hub
  preview_cache previews{core, calls};                     ///< links fetched within the hour
  push_scheduler pushes{core, calls};                      ///< pushes owed, claimed and settled
  push_keeper push{core, calls, pushes};                   ///< the VAPID key, subscriptions, levels

  static inline const char* name = "redis_bridge";
};

using bridge_actor = redis_bridge_actor::stateful_base<bridge_state>;

} // namespace chatnode::bridge

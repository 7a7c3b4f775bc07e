#pragma once
// What every part of the Redis bridge shares: the actor, its settings, its
// keys and its stats. Each part keeps its own state in its own file (see
// redis_bridge_state.hpp for how they fit together); nothing outside the
// bridge includes these headers.

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/redis_bus/redis_bridge.hpp"
#include "actors/redis_bus/redis_keys.hpp"
#include "actors/redis_bus/redis_port.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::redis_reply)

namespace chatnode::bridge {

using link_atom = caf::atom_constant<caf::atom("link")>;
using channel_atom = caf::atom_constant<caf::atom("channel")>;
using unsubscribed_atom = caf::atom_constant<caf::atom("unsub")>;
using published_atom = caf::atom_constant<caf::atom("published")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;

using clock = std::chrono::steady_clock;

/// The bus interface, and what the bridge's connections and timers send it:
/// tick_atom is the presence heartbeat, flush_atom writes the directory.
using redis_bridge_actor =
  bus_actor::extend<caf::reacts_to<link_atom, redis_link, bool, std::string>,
                    caf::reacts_to<reply_atom, std::uint64_t, redis_reply>,
                    caf::reacts_to<channel_atom, std::string>, caf::reacts_to<unsubscribed_atom, std::string>,
                    caf::reacts_to<published_atom, std::string, std::string>, caf::reacts_to<tick_atom>,
                    caf::reacts_to<flush_atom>, caf::reacts_to<timer_atom, std::uint64_t>>;

/// The bridge actor as its parts see it: what they send from and make promises with.
using bridge_self = redis_bridge_actor::pointer;

/// What every part reads: set once when the bridge starts.
struct bridge_core {
  explicit bridge_core(bridge_self actor)
    : self(actor) {}

  bridge_self self;
  redis_bridge_settings settings;
  stats_ptr stats;
  redis_keys keys{"chatnode:"};

  /// Whether a message is published only once it reached its replicas.
  bool replicated() const { return settings.wait_replicas > 0; }
  /// "1" when readers see a room's stream only up to its watermark.
  const char* replicated_flag() const { return replicated() ? "1" : "0"; }
  std::string publish_command() const { return settings.sharded ? "SPUBLISH" : "PUBLISH"; }
};

} // namespace chatnode::bridge

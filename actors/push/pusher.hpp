#pragma once
// (1.2) The pusher: one per node. A message stored on this node is handed to
// the bus, which decides who it owes a push and folds it into their pending
// pushes (PROTOCOL.md, "Notifications when away"). Every node's pusher
// claims the pushes that are due, wherever they were owed, so that one owed
// by a node that died is still sent: it checks once more that the user is
// still away and has not read the message, sends it to each of the user's
// subscriptions, drops those their push service no longer knows (404, 410)
// and has the rest sent again with backoff (429, 5xx, no answer), as the
// service asks with Retry-After, for up to an hour.

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/contracts/push_identity.hpp"
#include "actors/contracts/push_sender.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace chatnode {

struct pusher_settings {
  /// How often due pushes are asked for.
  std::chrono::milliseconds tick{500};
  /// How long a claimed push is this node's before another node may send it
  /// (a push's sends end well within it).
  std::chrono::milliseconds lease{60000};
  /// Pushes being sent at once, at most; more wait in the bus.
  std::size_t max_in_flight = 256;
  /// How long a push is retried before it is given up.
  std::chrono::milliseconds give_up_after{std::chrono::hours{1}};
  /// The first retry's wait when the service names none; it doubles per
  /// retry, up to `max_backoff`.
  std::chrono::milliseconds first_backoff{10000};
  std::chrono::milliseconds max_backoff{std::chrono::minutes{15}};
  std::chrono::milliseconds bus_timeout{5000};
  /// Until it says someone subscribed, nothing can be due: no claim is asked.
  std::shared_ptr<const push_identity> identity;
};

pusher_actor spawn_pusher(caf::actor_system& sys, push_bus bus, std::shared_ptr<push_sender> sender,
                          pusher_settings settings, stats_ptr stats);

/// The payload a service worker reads (PROTOCOL.md): room, id, user, text,
/// dm and count.
std::string push_payload(const claimed_push& push);

/// When a push that failed its `attempts`-th time (from 0) is sent again,
/// `now_ms` being now: when the service said (Retry-After, at least a
/// second) or after the backoff.
std::int64_t push_retry_at(const pusher_settings& settings, std::uint32_t attempts, int retry_after,
                           std::int64_t now_ms);

} // namespace chatnode

#pragma once
// The Redis bridge: the bus for many nodes. Stores and publishes each message
// in one Lua step (or, with wait_replicas, publishes it once its replicas
// have it), subscribes to a room's channel while the room has local members,
// keeps presence over all nodes, and after any loss of the link reads back
// from the room's stream what it missed.

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/file_catalog.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/contracts/upload_secret.hpp"
#include "actors/contracts/push_identity.hpp"
#include "actors/redis_bus/redis_port.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace chatnode {

struct redis_bridge_settings {
  std::string node; ///< this node's name, unique among nodes
  /// Tells this process apart from earlier ones under the same name (a
  /// container restarted in place); random when empty.
  std::string incarnation;
  std::string key_prefix = "chatnode:";
  std::size_t retention = 1000;                  ///< per-room stream length (MAXLEN ~)
  std::chrono::seconds cid_ttl{300};             ///< how long a cid is remembered for retries
  std::chrono::milliseconds presence_ttl{10000}; ///< a node silent this long leaves presence
  std::chrono::milliseconds query_timeout{5000}; ///< a join waiting this long for Redis fails
  /// Redis Cluster: room channels are shard channels (SPUBLISH), and a
  /// channel may be dropped alone when its slot moves.
  bool sharded = false;
  /// A message is published and acknowledged only once this many replicas
  /// have it (WAIT), and readers see no further than such messages; 0: at once.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000}; ///< longer: the send fails as `unavailable`
  /// (1.2) Files: the store's catalog (none: no files), and the ticket
  /// secret, read from Redis (the first node's) and set here.
  std::shared_ptr<const file_catalog> files;
  std::shared_ptr<upload_secret> ticket_secret;
  /// (1.2) Web Push: the deployment's VAPID key, read from Redis (the first
  /// node's) and set here; none: push is off.
  std::shared_ptr<push_identity> push_key;
  /// (1.2) How long a pending push gathers a user's messages in a room.
  std::chrono::milliseconds push_fold{30000};
};

/// Spawns the bridge over two connections: one for commands, one that only
/// subscribes. Their events must be forwarded with `forward_redis_events`.
bus_actor spawn_redis_bridge(caf::actor_system& sys, std::shared_ptr<redis_port> commands,
                             std::shared_ptr<redis_port> subscriber, redis_bridge_settings settings,
                             stats_ptr stats);

/// Which of the bridge's two connections an event is about.
enum class redis_link : std::uint8_t { commands, subscriber };

/// Event handlers that pass a connection's events on to the bridge.
redis_events forward_redis_events(std::shared_ptr<bus_actor> bridge, redis_link link);

} // namespace chatnode

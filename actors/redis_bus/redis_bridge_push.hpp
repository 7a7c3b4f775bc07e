#pragma once
// (1.2) The Redis bridge's side of Web Push: the deployment's VAPID key, the
// first node's, kept in Redis for every node.

#include "actors/redis_bus/redis_bridge_calls.hpp"

namespace chatnode::bridge {

class push_keeper {
public:
  push_keeper(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// Reads the kept key, storing this node's if Redis holds none. Asked on
  /// every heartbeat, as the upload secret is: a Redis that lost its data
  /// gets a key again (subscriptions made with the lost one then fail, as
  /// they would with any new key).
  void fetch_key();

private:
  bridge_core& core_;
  redis_calls& calls_;
};

} // namespace chatnode::bridge

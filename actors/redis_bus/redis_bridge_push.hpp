#pragma once
// (1.2) The Redis bridge's side of Web Push: the deployment's VAPID key, the
// first node's, kept in Redis for every node; users' push subscriptions and
// notification levels, kept per user (a hash each, on the user's own slot).

#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_pushes.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>

namespace chatnode::bridge {

class push_keeper {
public:
  push_keeper(bridge_core& core, redis_calls& calls, push_scheduler& scheduler)
    : core_(core),
      calls_(calls),
      scheduler_(scheduler) {}

  /// Reads the kept key, storing this node's if Redis holds none. Asked on
  /// every heartbeat, as the upload secret is: a Redis that lost its data
  /// gets a key again (subscriptions made with the lost one then fail, as
  /// they would with any new key).
  void fetch_key();

  auto handlers() {
    return std::make_tuple(
      [this](pushsub_atom, const push_subscription& s) -> caf::result<bool> { return subscribe(s); },
      [this](pushunsub_atom, const std::string& user, const std::string& endpoint) -> caf::result<bool> {
        return unsubscribe(user, endpoint);
      },
      [this](notify_atom, const notify_setting& n) -> caf::result<bool> { return set_level(n); },
      [this](notifylv_atom, const std::string& user) -> caf::result<std::vector<notify_setting>> {
        return levels(user);
      },
      [](pushsave_atom) {}); // Redis keeps them as they come
  }

private:
  /// Keeps `field` in a user's hash at `key` unless it holds `most` fields
  /// and not this one; `then` runs once it is kept.
  caf::result<bool> keep(std::string key, std::string field, std::string value, std::size_t most,
                         std::function<void()> then);
  caf::result<bool> subscribe(const push_subscription& s);
  caf::result<bool> unsubscribe(const std::string& user, const std::string& endpoint);
  /// Keeps the level, then tells the user's sessions on every node; false
  /// when the user has levels in the most rooms already.
  caf::result<bool> set_level(const notify_setting& n);
  caf::result<std::vector<notify_setting>> levels(const std::string& user);

  bridge_core& core_;
  redis_calls& calls_;
  push_scheduler& scheduler_;
};

} // namespace chatnode::bridge

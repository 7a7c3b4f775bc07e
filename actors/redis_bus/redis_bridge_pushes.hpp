#pragma once
// (1.2) The Redis bridge's side of sending Web Push: who a stored message
// owes a push, decided on the room's slot with its presence, read
// positions and levels (push_decide.lua); pending pushes folded and claimed
// on one slot every node's pusher asks (push_owe, push_claim and
// push_settle.lua), so that a push owed by a node that died is still sent.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace chatnode::bridge {

class push_scheduler {
public:
  push_scheduler(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// Keeps a user's level on the room's slot too, where decisions read it.
  void keep_room_level(const notify_setting& n);

  auto handlers() {
    return std::make_tuple(
      [this](pushowe_atom, const push_owed_message& m) -> caf::result<std::uint32_t, std::uint32_t> {
        return owe(m);
      },
      [this](pushdue_atom, std::uint32_t n, std::int64_t lease_ms) -> caf::result<std::vector<claimed_push>> {
        return claim(n, lease_ms);
      },
      [this](pushaway_atom, const std::string& room, const std::string& user,
             const std::string& id) -> caf::result<bool> { return away(room, user, id); },
      [this](pushsubs_atom, const std::string& user) -> caf::result<std::vector<push_subscription>> {
        return subscriptions(user);
      },
      [this](pushsettle_atom, const push_settlement& s) { settle(s); });
  }

private:
  caf::result<std::uint32_t, std::uint32_t> owe(const push_owed_message& m);
  caf::result<std::vector<claimed_push>> claim(std::uint32_t n, std::int64_t lease_ms);
  caf::result<bool> away(const std::string& room, const std::string& user, const std::string& id);
  caf::result<std::vector<push_subscription>> subscriptions(const std::string& user);
  void settle(const push_settlement& s);

  bridge_core& core_;
  redis_calls& calls_;
};

/// A claimed push as push_claim.lua gives it (its key and JSON); none when
/// the JSON is not one.
std::optional<claimed_push> parse_claimed_push(const std::string& key, const std::string& json);

} // namespace chatnode::bridge

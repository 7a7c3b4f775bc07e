#pragma once
// (1.2) The issuer keeper: one per node when the deployment's identity
// provider is configured ([auth] jwks_url). It fetches the provider's JWKS
// at start and every 10 minutes, and again when a token names a key it does
// not hold, at most once per 30 seconds (a rotation needs no restart, and a
// client making up key ids cannot make the node fetch more). A fetch that
// fails, or brings no usable key, keeps the last good keys; it is logged and
// counted, and tried again 30 seconds later until one succeeds.

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/document_fetcher.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/people/issuer_keys.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace chatnode {

struct issuer_keeper_settings {
  std::string jwks_url;
  std::chrono::milliseconds refresh{std::chrono::minutes{10}};
  /// Fetches asked by unknown keys are at least this far apart; also the
  /// wait before a failed fetch is tried again.
  std::chrono::milliseconds min_gap{std::chrono::seconds{30}};
  /// Told what each fetch brought: the number of keys, or why none.
  std::function<void(std::size_t keys, const std::string& problem)> on_fetch;
};

issuer_actor spawn_issuer_keeper(caf::actor_system& sys, std::shared_ptr<issuer_keys> keys,
                                 std::shared_ptr<document_fetcher> fetcher, issuer_keeper_settings settings,
                                 stats_ptr stats);

} // namespace chatnode

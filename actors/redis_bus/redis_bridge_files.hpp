#pragma once
// (1.2) The Redis bridge's side of files: the upload ticket secret every
// node shares (the first node's, kept in Redis), and the store's files
// settled after a store: a new message's files sent, a deleted message's
// files and those of messages trimmed from the stream (without an archive
// to keep them) removed. The store is one every node shares; whichever
// node stored the change settles it.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace chatnode::bridge {

class file_keeper {
public:
  file_keeper(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// Whether the node takes files.
  bool active() const { return static_cast<bool>(core_.settings.files); }
  /// Reads the shared ticket secret, storing this node's first if Redis
  /// holds none (so the first node to ask sets it for all). Asked again on
  /// every heartbeat: a Redis that lost its data gets one again, and every
  /// node follows within a heartbeat.
  void fetch_secret();
  /// After a store: `sent` are a new message's file ids; `gone` the files
  /// (as store.lua keeps them: JSON arrays) of messages deleted or trimmed.
  void settle(const std::vector<std::string>& sent, const std::vector<std::string>& gone);

  /// A user's upload quota, counted in Redis so that every node sees the
  /// same day's total (a key per user and day, kept two days).
  caf::result<bool> reserve(const std::string& user, std::uint64_t bytes, std::uint64_t limit);

  auto handlers() {
    return std::make_tuple([this](quota_atom, const std::string& user, std::uint64_t bytes,
                                  std::uint64_t limit) { return reserve(user, bytes, limit); });
  }

private:
  /// A failed read while the secret is unknown: asked again shortly.
  void retry_secret_soon();

  bridge_core& core_;
  redis_calls& calls_;
  bool retry_pending_ = false;
};

} // namespace chatnode::bridge

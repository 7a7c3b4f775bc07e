#pragma once
// The live WebSocket sessions of a node, so shutdown can close them all.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace chatnode {

class websocket_session;

class session_registry {
public:
  void add(std::uint64_t id, std::weak_ptr<websocket_session> session);
  void remove(std::uint64_t id);
  /// Every live session, for shutdown.
  std::vector<std::shared_ptr<websocket_session>> snapshot() const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<websocket_session>> sessions_;
};

} // namespace chatnode

#include "node/edge/session_registry.hpp"

namespace chatnode {

void session_registry::add(std::uint64_t id, std::weak_ptr<websocket_session> session) {
  std::lock_guard guard{mutex_};
  sessions_.emplace(id, std::move(session));
}

void session_registry::remove(std::uint64_t id) {
  std::lock_guard guard{mutex_};
  sessions_.erase(id);
}

std::vector<std::shared_ptr<websocket_session>> session_registry::snapshot() const {
  std::lock_guard guard{mutex_};
  std::vector<std::shared_ptr<websocket_session>> result;
  result.reserve(sessions_.size());
  for (const auto& [id, weak] : sessions_)
    if (auto session = weak.lock())
      result.push_back(std::move(session));
  return result;
}

} // namespace chatnode

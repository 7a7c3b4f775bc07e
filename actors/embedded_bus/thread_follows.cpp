#include "actors/embedded_bus/thread_follows.hpp"

namespace chatnode {

void thread_follows::follow(message_id root, const std::string& user, std::optional<message_id> read) {
  auto& followers = by_root_[root];
  auto it = followers.find(user);
  if (it == followers.end()) {
    if (followers.size() >= max_followers_per_thread)
      return;
    it = followers.emplace(user, std::nullopt).first;
    by_user_[user].insert(root);
  }
  if (read && (!it->second || *it->second < *read))
    it->second = read;
}

std::optional<std::optional<message_id>> thread_follows::read_of(message_id root,
                                                                 const std::string& user) const {
  auto followers = by_root_.find(root);
  if (followers == by_root_.end())
    return std::nullopt;
  auto it = followers->second.find(user);
  if (it == followers->second.end())
    return std::nullopt;
  return it->second;
}

bool thread_follows::mark_read(message_id root, const std::string& user, message_id id) {
  auto followers = by_root_.find(root);
  if (followers == by_root_.end())
    return false;
  auto it = followers->second.find(user);
  if (it == followers->second.end() || (it->second && id <= *it->second))
    return false;
  it->second = id;
  return true;
}

const std::set<message_id>& thread_follows::roots_of(const std::string& user) const {
  static const std::set<message_id> none;
  auto it = by_user_.find(user);
  return it == by_user_.end() ? none : it->second;
}

void thread_follows::forget(message_id root) {
  auto it = by_root_.find(root);
  if (it == by_root_.end())
    return;
  for (const auto& [user, read] : it->second)
    if (auto roots = by_user_.find(user); roots != by_user_.end()) {
      roots->second.erase(root);
      if (roots->second.empty())
        by_user_.erase(roots);
    }
  by_root_.erase(it);
}

} // namespace chatnode

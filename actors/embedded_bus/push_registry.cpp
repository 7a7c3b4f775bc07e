#include "actors/embedded_bus/push_registry.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <system_error>
#include <utility>

namespace chatnode {

using json = nlohmann::json;

push_registry::push_registry(std::filesystem::path file)
  : file_(std::move(file)) {
  if (file_.empty())
    return;
  std::ifstream in{file_};
  if (!in)
    return;
  auto doc = json::parse(in, nullptr, false);
  if (!doc.is_object())
    return;
  // What does not have the shape written here is skipped, not trusted.
  if (auto subs = doc.find("subscriptions"); subs != doc.end() && subs->is_object())
    for (const auto& [user, list] : subs->items()) {
      if (!list.is_array())
        continue;
      for (const auto& s : list)
        if (s.is_object() && s.value("endpoint", json{}).is_string() &&
            s.value("p256dh", json{}).is_string() && s.value("auth", json{}).is_string() &&
            subscriptions_[user].size() < max_push_subscriptions)
          subscriptions_[user].push_back({user, s["endpoint"], s["p256dh"], s["auth"]});
    }
  if (auto levels = doc.find("levels"); levels != doc.end() && levels->is_object())
    for (const auto& [user, rooms] : levels->items()) {
      if (!rooms.is_object())
        continue;
      for (const auto& [room, level] : rooms.items())
        if (level.is_string() && levels_[user].size() < max_notify_levels) {
          levels_[user][room] = level.get<std::string>();
          if (level == "all")
            at_all_[room].insert(user);
        }
    }
}

bool push_registry::subscribe(const push_subscription& s) {
  auto& list = subscriptions_[s.user];
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.endpoint == s.endpoint; });
  if (it != list.end()) {
    *it = s;
  } else {
    if (list.size() >= max_push_subscriptions)
      return false;
    list.push_back(s);
  }
  unsaved_ = !file_.empty();
  return true;
}

bool push_registry::unsubscribe(const std::string& user, const std::string& endpoint) {
  auto found = subscriptions_.find(user);
  if (found == subscriptions_.end())
    return false;
  auto& list = found->second;
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.endpoint == endpoint; });
  if (it == list.end())
    return false;
  list.erase(it);
  if (list.empty())
    subscriptions_.erase(found);
  unsaved_ = !file_.empty();
  return true;
}

bool push_registry::set_level(const notify_setting& n) {
  auto& rooms = levels_[n.user];
  if (!rooms.contains(n.room) && rooms.size() >= max_notify_levels)
    return false;
  rooms[n.room] = n.level;
  if (n.level == "all") {
    at_all_[n.room].insert(n.user);
  } else if (auto it = at_all_.find(n.room); it != at_all_.end()) {
    it->second.erase(n.user);
    if (it->second.empty())
      at_all_.erase(it);
  }
  unsaved_ = !file_.empty();
  return true;
}

const std::vector<push_subscription>& push_registry::subscriptions(const std::string& user) const {
  static const std::vector<push_subscription> none;
  auto it = subscriptions_.find(user);
  return it == subscriptions_.end() ? none : it->second;
}

std::string push_registry::level(const std::string& user, const std::string& room) const {
  auto it = levels_.find(user);
  if (it == levels_.end())
    return {};
  auto room_level = it->second.find(room);
  return room_level == it->second.end() ? std::string{} : room_level->second;
}

std::vector<notify_setting> push_registry::levels(const std::string& user) const {
  std::vector<notify_setting> out;
  if (auto it = levels_.find(user); it != levels_.end())
    for (const auto& [room, level] : it->second)
      out.push_back({user, room, level});
  return out;
}

const std::set<std::string>& push_registry::users_at_all(const std::string& room) const {
  static const std::set<std::string> none;
  auto it = at_all_.find(room);
  return it == at_all_.end() ? none : it->second;
}

push_registry::~push_registry() {
  save();
}

void push_registry::save() {
  if (file_.empty() || !unsaved_)
    return;
  json doc{{"subscriptions", json::object()}, {"levels", json::object()}};
  for (const auto& [user, list] : subscriptions_) {
    auto& out = doc["subscriptions"][user] = json::array();
    for (const auto& s : list)
      out.push_back({{"endpoint", s.endpoint}, {"p256dh", s.p256dh}, {"auth", s.auth}});
  }
  for (const auto& [user, rooms] : levels_)
    for (const auto& [room, level] : rooms)
      doc["levels"][user][room] = level;
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  auto aside = file_;
  aside += ".new";
  {
    std::ofstream out{aside, std::ios::trunc};
    out << doc.dump();
    if (!out)
      return; // kept in memory; written at the next save
  }
  // It holds each browser's secret: for the node's user alone.
  std::filesystem::permissions(aside,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  std::filesystem::rename(aside, file_, ec);
  if (!ec)
    unsaved_ = false;
}

push_registry::push_registry(push_registry&& other) noexcept
  : file_(std::exchange(other.file_, {})),
    unsaved_(std::exchange(other.unsaved_, false)),
    subscriptions_(std::move(other.subscriptions_)),
    levels_(std::move(other.levels_)),
    at_all_(std::move(other.at_all_)) {}

push_registry& push_registry::operator=(push_registry&& other) noexcept {
  if (this != &other) {
    save(); // what this one held is written before it is replaced
    file_ = std::exchange(other.file_, {});
    unsaved_ = std::exchange(other.unsaved_, false);
    subscriptions_ = std::move(other.subscriptions_);
    levels_ = std::move(other.levels_);
    at_all_ = std::move(other.at_all_);
  }
  return *this;
}

} // namespace chatnode

#include "actors/embedded_bus/link_cache.hpp"

#include <iterator>

namespace chatnode {

namespace {

constexpr auto fetch_lasts = std::chrono::seconds{30};
constexpr auto found_lasts = std::chrono::hours{1};

} // namespace

cached_preview link_cache::look_up(const std::string& url, clock::time_point now) {
  if (auto it = links_.find(url); it != links_.end() && it->second.until > now) {
    if (it->second.pending)
      return {cached_preview::state::wait, std::nullopt};
    return {cached_preview::state::found, it->second.found};
  }
  make_room(now);
  links_[url] = entry{now + fetch_lasts, true, std::nullopt};
  return {cached_preview::state::fetch, std::nullopt};
}

void link_cache::keep(const std::string& url, std::optional<link_preview> found, clock::time_point now) {
  make_room(now);
  links_[url] = entry{now + found_lasts, false, std::move(found)};
}

void link_cache::make_room(clock::time_point now) {
  if (links_.size() < max_links_)
    return;
  for (auto it = links_.begin(); it != links_.end();)
    it = it->second.until <= now ? links_.erase(it) : std::next(it);
  if (links_.size() >= max_links_)
    links_.clear();
}

} // namespace chatnode

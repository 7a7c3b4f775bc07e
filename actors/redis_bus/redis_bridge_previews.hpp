#pragma once
// (1.2) The Redis bridge's side of link previews: the cache every node
// asks before it fetches a link, so that a link is fetched once an hour
// over all nodes, by one node at a time. A link's key holds "pending"
// while a node fetches it (30 s at most), then what was found for an hour.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <optional>
#include <string>
#include <tuple>

namespace chatnode::bridge {

class preview_cache {
public:
  preview_cache(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// What the cache holds for `url`; a claim to fetch it when nothing.
  caf::result<cached_preview> look_up(const std::string& url);
  /// What a fetch found (none: no usable preview), kept an hour.
  void keep(const std::string& url, const std::optional<link_preview>& found);

  auto handlers() {
    return std::make_tuple([this](pvlookup_atom, const std::string& url) { return look_up(url); },
                           [this](pvkeep_atom, const std::string& url,
                                  const std::optional<link_preview>& found) { keep(url, found); });
  }

private:
  std::string key_of(const std::string& url) const;

  bridge_core& core_;
  redis_calls& calls_;
};

} // namespace chatnode::bridge

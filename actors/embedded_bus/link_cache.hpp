#pragma once
// (1.2) The embedded bus's preview cache: what a fetch of a link found, kept
// an hour, and the fetch under way (30 s at most), as the Redis bridge keeps
// them for every node. Bounded: past its size, what has lapsed goes, and if
// that is not enough, everything.

#include "actors/contracts/messages.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace chatnode {

class link_cache {
public:
  using clock = std::chrono::steady_clock;

  explicit link_cache(std::size_t max_links = 10000)
    : max_links_(max_links) {}

  /// What it holds for `url`; when nothing (or lapsed), the caller fetches it now.
  cached_preview look_up(const std::string& url, clock::time_point now = clock::now());
  void keep(const std::string& url, std::optional<link_preview> found, clock::time_point now = clock::now());

private:
  struct entry {
    clock::time_point until;
    bool pending = false;
    std::optional<link_preview> found;
  };
  void make_room(clock::time_point now);

  std::size_t max_links_;
  std::unordered_map<std::string, entry> links_;
};

} // namespace chatnode

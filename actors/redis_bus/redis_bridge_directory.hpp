#pragma once
// The Redis bridge's part of the room directory: one hash for the whole chat
// (actors/redis_bus/lua/directory.lua), written by the nodes that see a
// room's presence change or store its messages, read whole for a listing.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace chatnode::bridge {

class directory_writer {
public:
  directory_writer(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// A presence event this node saw: the room's members as of that version.
  void note_members(const std::string& room, std::uint64_t version, std::size_t members);
  /// A message this node stored: the room's last activity, written within a second.
  void note_activity(const std::string& room, std::int64_t ms);

  auto handlers() {
    return std::make_tuple([this](rooms_atom) -> caf::result<directory_listing> { return list_rooms(); },
                           [this](flush_atom) { flush(); });
  }

private:
  /// Members of a listed room noted since the directory last heard.
  struct noted_members {
    std::optional<std::uint64_t> emptied; ///< the newest version that left the room empty
    std::optional<std::pair<std::uint64_t, std::size_t>> last; ///< (version, members) after it
  };

  /// The first change noted since the last flush schedules the next one.
  void schedule_flush();
  /// Writes what was noted since the last flush.
  void flush();
  void write(const std::string& room, std::string version, std::string members, std::string last_ms);
  caf::result<directory_listing> list_rooms();

  bridge_core& core_;
  redis_calls& calls_;
  /// Listed rooms this node stored messages in since the directory last
  /// heard: room -> newest ms. Written to Redis once a second.
  std::map<std::string, std::int64_t> activity_;
  /// Members of listed rooms, written with the activity once a second: a
  /// join storm is not a directory write per join on every node.
  std::map<std::string, noted_members> members_;
};

} // namespace chatnode::bridge

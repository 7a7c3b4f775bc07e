#pragma once
// The room directory: which rooms are listed, in which order, a page at a
// time; and the actor that keeps clients who watch it current.

#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/client_sink.hpp"
#include "actors/contracts/bus_interface.hpp"

#include <caf/actor_system.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace chatnode {

/// Listed unless unlisted (a name starting with `_`, direct conversations included).
inline bool listed(std::string_view room) {
  return !room.empty() && room.front() != '_';
}

/// Most members first, then the latest activity, then by name.
void sort_directory(std::vector<directory_entry>& rooms);

/// One page from `offset` of the sorted listed rooms, and the offset of the
/// next page if there is one.
struct directory_page {
  std::vector<directory_entry> rooms;
  std::optional<std::size_t> next;
};
directory_page page_of(std::vector<directory_entry> all, std::size_t offset, std::size_t limit);

/// Spawns the directory watcher: once a second, while anyone watches, it
/// asks the bus for the directory and sends each watcher a room_update for
/// each listed room that changed since (so at most one per room per second).
directory_actor spawn_directory(caf::actor_system& sys, directory_bus bus);

} // namespace chatnode

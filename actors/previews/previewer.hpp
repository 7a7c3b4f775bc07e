#pragma once
// (1.2) The previewer: one per node. A message sent on this node whose text
// has a link gets a preview of its first link, stored in the room as an
// entry of its own (a `preview` event), never delaying the message. Each
// link is fetched at most once an hour over all nodes (the bus's cache,
// which also says when another node is fetching it), and previews are
// limited per room and per user; unlisted rooms and direct conversations
// get none unless the operator allows it.

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/contracts/link_fetcher.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace chatnode {

struct previewer_settings {
  bool in_unlisted = false;             ///< unlisted rooms and direct conversations too
  double room_per_minute = 20;          ///< previews fetched for one room
  double user_per_minute = 10;          ///< previews fetched for one user's messages
  std::chrono::milliseconds wait{1000}; ///< before asking again while another node fetches the link
  int max_waits = 10;                   ///< then the message goes without
  /// Fetches under way at once (each ends within the fetcher's deadline);
  /// past it a link goes without, whatever the rooms and users.
  std::size_t max_fetching = 16;
  std::chrono::milliseconds bus_timeout{5000};
};

previewer_actor spawn_previewer(caf::actor_system& sys, preview_bus bus,
                                std::shared_ptr<link_fetcher> fetcher, previewer_settings settings,
                                stats_ptr stats);

} // namespace chatnode

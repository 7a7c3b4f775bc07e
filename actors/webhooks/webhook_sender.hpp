#pragma once
// (1.2) The webhook sender: every room's entries posted to the deployment's
// receiver (PROTOCOL.md "Webhooks"), at least once and in each room's
// order, from a cursor the bus keeps, so that any node goes on where
// another stopped.
//
// How a room's order holds over many nodes:
// - One node at a time delivers a room: it holds the room's lease in the
//   bus (hook_claim), renews it while it works and lets it go once the room
//   is sent. The node that stores an entry claims the room at once; a node
//   that only sees entries (it has members there) claims it once a second
//   while they are not sent, so when the holder dies its rooms are taken
//   over within a lease.
// - The holder reads the room's entries after the cursor, posts them one at
//   a time and moves the cursor after each answer of 2xx. A failure is
//   tried again after 1 s, 2 s, 4 s ... at most `longest_wait`, the room's
//   later entries waiting behind it, for `retry_for` since its first
//   failure (kept in the bus with the cursor); then it is dropped, logged
//   and counted.
// - An entry the receiver took just before its sender died is posted again
//   by the next: at least once, never out of order. The delivery id is the
//   same, so the receiver can tell.
// - The bus holds a room's entries after the cursor up to `hold` per room;
//   past that the oldest go unsent (the warning says so while a backlog
//   lasts).

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/webhook_poster.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace chatnode {

struct webhook_settings {
  std::string secret;                             ///< signs every delivery
  std::chrono::milliseconds lease{10000};         ///< a room's delivery, renewed every third of it
  std::chrono::milliseconds watch{1000};          ///< how often a room another node delivers is looked at
  std::chrono::milliseconds retry_for{86400000};  ///< an entry failing this long is dropped
  std::chrono::milliseconds longest_wait{300000}; ///< between two attempts, at most
  std::chrono::milliseconds bus_timeout{5000};
  std::size_t batch = 100;        ///< entries read from the bus at once
  std::size_t rooms_at_once = 32; ///< rooms posting at the same time, at most
  std::size_t hold = 100000;      ///< entries per room the bus holds, for the warning
  /// Where warnings go (the node's log): an event name and what happened.
  std::function<void(const std::string& event, const std::string& detail)> warn;
};

/// Spawns the sender; tell the bus with `hooker_atom` to feed it.
webhook_actor spawn_webhook_sender(caf::actor_system& sys, webhook_bus bus,
                                   std::shared_ptr<webhook_poster> poster, webhook_settings settings,
                                   stats_ptr stats);

} // namespace chatnode

#pragma once
// (1.2) The command runner, one per node: a slash command typed in a room
// is posted to its service (signed like a webhook: X-Chatnode-Timestamp
// and X-Chatnode-Signature with the command's secret), and its answer is
// posted to the room by the command's bot (`bot: true`) or returned for the
// caller alone. A service that fails, is slow (5 s) or answers what is not
// a JSON object is told to the caller as `unavailable`.

#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/commands.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>

namespace chatnode {

/// What came of a command, as the metrics count it.
enum class command_outcome : std::uint8_t { answered, failed, unknown };

struct command_runner_settings {
  command_book_ptr book;
  protocol_limits limits; ///< an answer posted to a room follows a message's rules
  std::chrono::milliseconds bus_timeout{5000};
};

commands_actor spawn_command_runner(caf::actor_system& sys, command_bus bus,
                                    std::shared_ptr<command_poster> poster, command_runner_settings settings,
                                    stats_ptr stats);

} // namespace chatnode

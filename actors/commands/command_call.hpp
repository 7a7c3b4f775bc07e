#pragma once
// (1.2) A slash command's call and answer, as bytes: what the node posts to
// the command's service, and what it takes back. Pure logic; the answer is
// outside bytes (fuzzed: tests/fuzz/command_answer_fuzz.cpp).

#include "actors/contracts/commands.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/contracts/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace chatnode {

/// What `/name args` typed in a room makes: the command and its arguments,
/// or none when the text is not a command (no leading "/", "//" (a message
/// that starts with "/"), or a first word that is not a command's name,
/// such as a path).
struct typed_command {
  std::string name;
  std::string args;
};
std::optional<typed_command> command_of(std::string_view text);

/// The JSON body of a call: {"type":"command","command","text","room","user","ts", "cid"?, "thread"?}.
std::string command_call_body(const command_request& req, std::int64_t ts_ms);

/// A service's answer: `text` (empty: nothing to show) for the room (its
/// bot posts it) or for the caller alone.
struct command_reply {
  std::string text;
  bool to_room = false;
};

/// Reads an answer body: empty, or a JSON object with optional `text` (a
/// string) and `visibility` ("caller", the default, or "room"). Anything
/// else is refused with why.
result<command_reply, std::string> parse_command_answer(std::string_view body);

} // namespace chatnode

// (1.2) Fuzzes what a slash command's service answers, as the node reads
// it, and a typed text read as a command. Properties: no crash or
// sanitizer report; an empty answer shows nothing; a command's name is
// always one a command may have, and its call's body is JSON.

#include "actors/commands/command_call.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto reply = parse_command_answer(input);
  if (input.empty() && (!ok(reply) || !std::get<command_reply>(reply).text.empty()))
    std::abort();
  if (auto typed = command_of(input)) {
    if (!command_name(typed->name) || input.size() < typed->name.size() + 1)
      std::abort();
    command_request req{"room", "user", typed->name, typed->args, "cid", std::nullopt};
    auto body = command_call_body(req, 0);
    if (body.empty() || body.front() != '{' || body.back() != '}')
      std::abort();
  }
  return 0;
}

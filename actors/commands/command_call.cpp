#include "actors/commands/command_call.hpp"

#include <nlohmann/json.hpp>

namespace chatnode {

std::optional<typed_command> command_of(std::string_view text) {
  if (text.size() < 2 || text[0] != '/' || text[1] == '/')
    return std::nullopt;
  auto end = text.find_first_of(" \t\n", 1);
  auto name = text.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
  if (!command_name(name))
    return std::nullopt;
  typed_command out{std::string{name}, {}};
  if (end != std::string_view::npos) {
    auto args = text.substr(end + 1);
    auto first = args.find_first_not_of(" \t");
    out.args = first == std::string_view::npos ? std::string{} : std::string{args.substr(first)};
  }
  return out;
}

std::string command_call_body(const command_request& req, std::int64_t ts_ms) {
  nlohmann::json body{{"type", "command"}, {"command", req.command}, {"text", req.args},
                      {"room", req.room},  {"user", req.user},       {"ts", ts_ms}};
  if (!req.cid.empty())
    body["cid"] = req.cid;
  if (req.thread)
    body["thread"] = req.thread->to_string();
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

result<command_reply, std::string> parse_command_answer(std::string_view body) {
  command_reply reply;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return reply;
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return std::string{"the answer is not a JSON object"};
  if (auto it = doc.find("text"); it != doc.end()) {
    if (!it->is_string())
      return std::string{"the answer's text is not a string"};
    reply.text = it->get<std::string>();
  }
  if (auto it = doc.find("visibility"); it != doc.end()) {
    if (!it->is_string() || (*it != "room" && *it != "caller"))
      return std::string{"the answer's visibility is not room or caller"};
    reply.to_room = *it == "room";
  }
  return reply;
}

} // namespace chatnode

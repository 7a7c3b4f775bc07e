#include "node/process/api_keys_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace chatnode {

namespace {

using keys_result = result<api_setup, std::string>;

std::string at(std::string_view source, const toml::source_region& where) {
  return std::string{source} + ":" + std::to_string(where.begin.line);
}

/// A room's name as a join takes it.
bool room_name(std::string_view room) {
  return !room.empty() && room.size() <= 64 && std::all_of(room.begin(), room.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

/// A key's name: what its messages show as their user.
bool key_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

/// A list of strings, or why it is not one.
std::optional<std::vector<std::string>> strings_of(const toml::node* node) {
  const auto* array = node ? node->as_array() : nullptr;
  if (array == nullptr)
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : *array) {
    const auto* s = item.as_string();
    if (s == nullptr)
      return std::nullopt;
    out.push_back(s->get());
  }
  return out;
}

/// The file's [[command]] tables; empty when they are fine, else why not.
std::string parse_commands(const toml::table& doc, std::string_view source,
                           const std::vector<api_caller>& bots, command_book& book) {
  const auto* list = doc["command"].as_array();
  if (list == nullptr)
    return {};
  for (const auto& item : *list) {
    const auto* table = item.as_table();
    if (table == nullptr)
      return at(source, item.source()) + ": a command is a [[command]] table";
    auto where = at(source, table->source());
    for (const auto& [field, value] : *table) {
      auto f = field.str();
      if (f != "name" && f != "url" && f != "secret" && f != "bot" && f != "description" && f != "usage" &&
          f != "allow_private")
        return at(source, value.source()) + ": command." + std::string{f} +
               ": unknown (name, url, secret, bot, description, usage, allow_private)";
    }
    command_spec spec;
    spec.name = (*table)["name"].value_or(std::string{});
    if (!command_name(spec.name))
      return where + ": command.name: expected 1 to 32 characters of a-z 0-9 _ -";
    for (const auto& other : book)
      if (other.name == spec.name)
        return where + ": command " + spec.name + ": registered twice";
    spec.url = (*table)["url"].value_or(std::string{});
    if (!(spec.url.starts_with("https://") || spec.url.starts_with("http://")) || spec.url.size() > 2048 ||
        std::any_of(spec.url.begin(), spec.url.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
      return where + ": command " + spec.name + ": url: expected the http(s) URL of its service";
    spec.secret = (*table)["secret"].value_or(std::string{});
    if (spec.secret.size() < 16)
      return where + ": command " + spec.name + ": secret: expected 16 or more characters";
    spec.description = (*table)["description"].value_or(std::string{});
    spec.usage = (*table)["usage"].value_or(std::string{});
    if (spec.description.size() > 200 || spec.usage.size() > 200)
      return where + ": command " + spec.name + ": description and usage: at most 200 characters each";
    spec.allow_private = (*table)["allow_private"].value_or(false);
    spec.bot = (*table)["bot"].value_or(spec.name);
    auto bot =
      std::find_if(bots.begin(), bots.end(), [&](const api_caller& b) { return b.name == spec.bot; });
    if (bot != bots.end()) {
      spec.rooms = bot->rooms;
    } else if (table->contains("bot")) {
      return where + ": command " + spec.name + ": bot: \"" + spec.bot + "\" is not a [[key]] of this file";
    } else if (!key_name(spec.bot)) {
      return where + ": command " + spec.name + ": its name is not a bot's name";
    }
    book.push_back(std::move(spec));
  }
  return {};
}

} // namespace

keys_result parse_api_keys(std::string_view text, std::string_view source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return at(source, e.source()) + ": " + std::string{e.description()};
  }
  auto keys = std::make_shared<api_keyring>();
  std::set<std::string> names;
  std::set<std::string> secrets;
  for (const auto& [section, node] : doc)
    if (section.str() != "key" && section.str() != "command")
      return at(source, node.source()) + ": " + std::string{section.str()} +
             ": unknown; the file holds [[key]] and [[command]] tables";
  std::vector<api_caller> bots;
  static const toml::array none;
  const auto* list = doc["key"].as_array();
  for (const auto& item : list ? *list : none) {
    const auto* table = item.as_table();
    if (table == nullptr)
      return at(source, item.source()) + ": a key is a [[key]] table";
    auto where = at(source, table->source());
    for (const auto& [field, value] : *table)
      if (field.str() != "name" && field.str() != "secret" && field.str() != "scopes" &&
          field.str() != "rooms")
        return at(source, value.source()) + ": key." + std::string{field.str()} +
               ": unknown (name, secret, scopes, rooms)";
    api_key key;
    key.caller.bot = true;
    key.caller.name = (*table)["name"].value_or(std::string{});
    if (!key_name(key.caller.name))
      return where + ": key.name: expected 1 to 32 characters of A-Z a-z 0-9 _ . -";
    if (key.caller.name == "api" || !names.insert(key.caller.name).second)
      return where + ": key.name: \"" + key.caller.name + "\" is taken (\"api\" is the [api] key's)";
    key.secret = (*table)["secret"].value_or(std::string{});
    if (key.secret.size() < 16 || key.secret.size() > 1024 ||
        std::any_of(key.secret.begin(), key.secret.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
      return where + ": key " + key.caller.name + ": secret: expected 16 to 1024 characters, no spaces";
    if (!secrets.insert(key.secret).second || key.secret == "")
      return where + ": key " + key.caller.name + ": secret: another key has the same";
    auto scopes = strings_of(table->get("scopes"));
    if (!scopes || scopes->empty())
      return where + ": key " + key.caller.name +
             ": scopes: expected a list of post, moderate, read_members, erase";
    for (const auto& name : *scopes) {
      auto scope = api_scope_named(name);
      if (!scope)
        return where + ": key " + key.caller.name + ": scopes: \"" + name +
               "\" is not one of post, moderate, read_members, erase";
      key.caller.scopes |= static_cast<std::uint8_t>(*scope);
    }
    auto rooms = strings_of(table->get("rooms"));
    if (!rooms || rooms->empty())
      return where + ": key " + key.caller.name +
             ": rooms: expected a list of rooms, or [\"*\"] for every room";
    if (!(rooms->size() == 1 && rooms->front() == "*")) {
      for (const auto& room : *rooms)
        if (!room_name(room))
          return where + ": key " + key.caller.name + ": rooms: \"" + room +
                 "\" is not a room (1 to 64 characters of A-Z a-z 0-9 _ . -), nor \"*\"";
      key.caller.rooms = std::move(*rooms);
    }
    bots.push_back(key.caller);
    keys->add(std::move(key));
  }
  auto commands = std::make_shared<command_book>();
  if (auto outcome = parse_commands(doc, source, bots, *commands); !outcome.empty())
    return outcome;
  return api_setup{keys, commands};
}

keys_result load_api_keys(const node_config& config) {
  api_setup loaded{std::make_shared<api_keyring>(), std::make_shared<command_book>()};
  if (!config.api_keys_file.empty()) {
    std::ifstream in{config.api_keys_file, std::ios::binary};
    if (!in)
      return config.api_keys_file + ": cannot open the API keys file (api.keys_file)";
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = parse_api_keys(text.str(), config.api_keys_file);
    if (!ok(parsed))
      return error_of(parsed);
    loaded = std::get<0>(parsed);
  }
  if (config.api_key.empty())
    return loaded;
  // The old single key: every scope, every room, under the name "api".
  auto keys = std::make_shared<api_keyring>(*loaded.keys);
  api_key legacy;
  legacy.secret = config.api_key;
  legacy.caller.name = "api";
  legacy.caller.scopes = 0xF;
  keys->add(std::move(legacy));
  loaded.keys = std::move(keys);
  return loaded;
}

} // namespace chatnode

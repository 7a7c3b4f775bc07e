#include "actors/contracts/api_keys.hpp"

#include "actors/contracts/signing.hpp"

#include <algorithm>

namespace chatnode {

std::optional<api_scope> api_scope_named(std::string_view name) {
  if (name == "post")
    return api_scope::post;
  if (name == "moderate")
    return api_scope::moderate;
  if (name == "read_members")
    return api_scope::read_members;
  if (name == "erase")
    return api_scope::erase;
  return std::nullopt;
}

bool api_caller::in_room(std::string_view room) const {
  return rooms.empty() || std::find(rooms.begin(), rooms.end(), room) != rooms.end();
}

const api_caller* api_keyring::match(std::string_view authorization) const {
  constexpr std::string_view scheme = "Bearer ";
  if (!authorization.starts_with(scheme))
    return nullptr;
  auto given = authorization.substr(scheme.size());
  const api_caller* found = nullptr;
  for (const auto& key : keys_)
    if (same_bytes(given, key.secret) && !found)
      found = &key.caller;
  return found;
}

} // namespace chatnode

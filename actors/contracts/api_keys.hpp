#pragma once
// (1.2) The server API's keys: each a bearer secret naming who calls and
// what it may do (its scopes) where (its rooms). The edge finds the key a
// request carries; the API actor checks the rest. The old single
// `[api] key` is one key with every scope in every room.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// What a key may do.
enum class api_scope : std::uint8_t {
  post = 1,         ///< post messages (a named key: under its own name, as a bot)
  moderate = 2,     ///< moderation, retention, disconnecting users
  read_members = 4, ///< the room list and who is in a room
  erase = 8,        ///< erasing a user's messages everywhere
};

/// The scope a config names ("post", "moderate", "read_members", "erase").
std::optional<api_scope> api_scope_named(std::string_view name);

/// Who a request's key says calls.
struct api_caller {
  std::string name;               ///< a named key's name; "api" for the old single key
  std::uint8_t scopes = 0;        ///< api_scope bits
  std::vector<std::string> rooms; ///< where it may act; empty: every room
  bool bot = false;               ///< a named key: posts under its own name, its messages carry `bot: true`

  bool may(api_scope scope) const { return (scopes & static_cast<std::uint8_t>(scope)) != 0; }
  bool in_room(std::string_view room) const;
  bool every_room() const { return rooms.empty(); }
};

struct api_key {
  std::string secret;
  api_caller caller;
};

/// Every key of the node.
class api_keyring {
public:
  void add(api_key key) { keys_.push_back(std::move(key)); }
  bool empty() const { return keys_.empty(); }
  /// The caller whose key an Authorization header ("Bearer <secret>")
  /// carries, or none. Every key is compared, each in constant time.
  const api_caller* match(std::string_view authorization) const;

private:
  std::vector<api_key> keys_;
};

} // namespace chatnode

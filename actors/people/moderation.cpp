#include "actors/people/moderation.hpp"

#include <openssl/sha.h>

#include <algorithm>

namespace chatnode {

void room_rules::apply(moderation_action action, const std::string& user, std::optional<std::int64_t> until) {
  switch (action) {
    case moderation_action::mute: mutes_[user] = until.value_or(0); break;
    case moderation_action::unmute: mutes_.erase(user); break;
    case moderation_action::ban: bans_[user] = until.value_or(0); break;
    case moderation_action::unban: bans_.erase(user); break;
    case moderation_action::kick: break;
  }
}

bool room_rules::in_force(const std::unordered_map<std::string, std::int64_t>& map, const std::string& user,
                          std::int64_t now_ms) {
  auto it = map.find(user);
  return it != map.end() && (it->second == 0 || it->second > now_ms);
}

bool room_rules::banned(const std::string& user, std::int64_t now_ms) const {
  return in_force(bans_, user, now_ms);
}

bool room_rules::muted(const std::string& user, std::int64_t now_ms) const {
  return in_force(mutes_, user, now_ms);
}

std::string dm_room_name(std::string_view user, std::string_view peer) {
  auto [first, second] = std::minmax(user, peer);
  // Length-prefixed, so that no other pair gives the same text.
  std::string pair = std::to_string(first.size()) + ':' + std::string{first} + std::string{second};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(pair.data()), pair.size(), digest);
  std::string room{"_dm."};
  constexpr const char* hex = "0123456789abcdef";
  for (int i = 0; i < 20; ++i) {
    room += hex[digest[i] >> 4];
    room += hex[digest[i] & 0xF];
  }
  return room;
}

} // namespace chatnode

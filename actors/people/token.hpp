#pragma once
// Join tokens: a JSON Web Token signed with HMAC-SHA256 (HS256) over the
// display name it was issued to ("sub"), the rooms it may enter ("rooms", a
// pattern), its expiry ("exp", seconds since the epoch) and optionally the
// holder's role ("role": "moderator" or "admin"). Any JWT library can mint
// one with the node's [auth] secret; `chatnode token` does too.

#include "actors/contracts/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace chatnode {

/// What a token lets its holder do beyond chatting.
enum class user_role { member, moderator, admin };

/// "moderator", "admin", or "" for a member.
std::string_view to_string(user_role role);
/// A role claim's value; a member for anything else.
user_role role_named(std::string_view name);

struct token_claims {
  std::string name;         ///< the display name the holder must join with
  std::string rooms;        ///< e.g. "general", "team-*", "general,team-*" or "*"
  std::int64_t expires = 0; ///< seconds since the epoch
  user_role role = user_role::member;
};

/// A signed token for `claims`.
std::string mint_token(std::string_view secret, const token_claims& claims);

/// Why a token does not admit a join.
enum class token_problem { missing, malformed, forged, expired, wrong_name, wrong_room };

/// A short reason for the client, e.g. "token expired".
std::string_view describe(token_problem problem);

/// Checks a join's token: signature first, then expiry, name and room; its
/// claims, or what is wrong with it.
result<token_claims, token_problem> verify_token(std::string_view token, std::string_view secret,
                                                 std::string_view name, std::string_view room,
                                                 std::int64_t now_seconds);

/// The same without the room: for a direct conversation, which is its two
/// users' and not the rooms claim's to allow.
result<token_claims, token_problem> verify_identity(std::string_view token, std::string_view secret,
                                                    std::string_view name, std::int64_t now_seconds);

/// True when `room` matches one of the comma-separated glob patterns, where
/// `*` stands for any run of characters.
bool room_allowed(std::string_view patterns, std::string_view room);

} // namespace chatnode

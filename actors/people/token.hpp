#pragma once
// Join tokens: a JSON Web Token over the identity it was issued to ("sub"),
// the rooms it may enter ("rooms", a pattern; absent: any), its expiry
// ("exp", seconds since the epoch), optionally when it starts ("nbf") and
// the holder's role ("role": "moderator" or "admin"). Signed with
// HMAC-SHA256 (HS256) under the node's [auth] secret (any JWT library can
// mint one; `chatnode token` does too), or (1.2) by the deployment's
// identity provider with a key its JWKS lists (jwks.hpp), its issuer and
// audience checked when configured. The header's `alg` picks which of the
// two checks a token, never how: HS256 only ever with the secret, the
// others only with a key of their own type.

#include "actors/contracts/result.hpp"
#include "actors/people/jwks.hpp"

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
  std::string display{}; ///< (1.2) the `name` claim, shown instead of `sub`; empty: none (or not showable)
};

/// (1.2) What verifies a token: the node's secret, the issuer's keys, or both.
struct token_rules {
  std::string_view secret; ///< HS256; empty: HS256 tokens are refused
  bool issuer = false;     ///< tokens signed by the issuer's keys are taken
  /// The issuer's keys as last fetched; none yet: such a token's key is unknown.
  const jwk_set* keys = nullptr;
  std::string_view expected_issuer;   ///< `iss` must be this; empty: not checked
  std::string_view expected_audience; ///< `aud` must be or list this; empty: not checked
};

/// A token's `nbf` may be this far ahead of the node's clock (the issuer's
/// clock and the node's differ a little).
inline constexpr std::int64_t token_clock_leeway_seconds = 30;

/// A signed token for `claims`.
std::string mint_token(std::string_view secret, const token_claims& claims);

/// Why a token does not admit a join.
enum class token_problem {
  missing,
  malformed,
  forged,
  expired,
  wrong_name,
  wrong_room,
  unknown_key,    ///< (1.2) signed by a key the issuer's keys lack: fetch them again
  algorithm,      ///< (1.2) signed with an algorithm this node does not take
  not_yet_valid,  ///< (1.2) `nbf` is ahead
  wrong_issuer,   ///< (1.2)
  wrong_audience, ///< (1.2)
};

/// A short reason for the client, e.g. "token expired".
std::string_view describe(token_problem problem);

/// Checks a join's token: signature first, then issuer and audience,
/// validity, name and room; its claims, or what is wrong with it.
/// (1.2) Whether a `name` claim can be shown: 1 to 64 characters, not
/// blank, no control characters.
bool shown_name(std::string_view text);

result<token_claims, token_problem> verify_token(std::string_view token, const token_rules& rules,
                                                 std::string_view name, std::string_view room,
                                                 std::int64_t now_seconds);

/// The same without the room: for a direct conversation, which is its two
/// users' and not the rooms claim's to allow, and for a renewal (`auth`).
/// An empty `name` is not checked (the connection has no identity yet).
result<token_claims, token_problem> verify_identity(std::string_view token, const token_rules& rules,
                                                    std::string_view name, std::int64_t now_seconds);

/// HS256 with `secret` alone.
inline result<token_claims, token_problem> verify_token(std::string_view token, std::string_view secret,
                                                        std::string_view name, std::string_view room,
                                                        std::int64_t now_seconds) {
  return verify_token(token, token_rules{secret, false, nullptr, {}, {}}, name, room, now_seconds);
}
inline result<token_claims, token_problem> verify_identity(std::string_view token, std::string_view secret,
                                                           std::string_view name, std::int64_t now_seconds) {
  return verify_identity(token, token_rules{secret, false, nullptr, {}, {}}, name, now_seconds);
}

/// True when `room` matches one of the comma-separated glob patterns, where
/// `*` stands for any run of characters.
bool room_allowed(std::string_view patterns, std::string_view room);

} // namespace chatnode

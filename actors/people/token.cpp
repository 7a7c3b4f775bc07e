#include "actors/people/token.hpp"

#include "actors/contracts/signing.hpp"

#include <nlohmann/json.hpp>

#include <optional>

namespace chatnode {

namespace {

const std::string& header_part() {
  static const std::string header = base64url(R"({"alg":"HS256","typ":"JWT"})");
  return header;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

} // namespace

std::string_view to_string(user_role role) {
  switch (role) {
    case user_role::moderator: return "moderator";
    case user_role::admin: return "admin";
    case user_role::member: break;
  }
  return "";
}

user_role role_named(std::string_view name) {
  if (name == "moderator")
    return user_role::moderator;
  if (name == "admin")
    return user_role::admin;
  return user_role::member;
}

std::string mint_token(std::string_view secret, const token_claims& claims) {
  nlohmann::json payload{{"sub", claims.name}, {"rooms", claims.rooms}, {"exp", claims.expires}};
  if (claims.role != user_role::member)
    payload["role"] = std::string{to_string(claims.role)};
  // Text that is not UTF-8 is replaced, never thrown on: such a name could
  // not join anyway, as frames are checked to be UTF-8.
  auto signed_part =
    header_part() + "." + base64url(payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return signed_part + "." + base64url(hmac_sha256(secret, signed_part));
}

std::string_view describe(token_problem problem) {
  switch (problem) {
    case token_problem::missing: return "this node requires a token to join";
    case token_problem::malformed: return "token is malformed";
    case token_problem::forged: return "token signature is not valid";
    case token_problem::expired: return "token expired";
    case token_problem::wrong_name: return "token was issued for another name";
    case token_problem::wrong_room: return "token does not allow this room";
  }
  return "token refused";
}

namespace {

/// `room`: none for a direct conversation (not checked).
result<token_claims, token_problem> check_token(std::string_view token, std::string_view secret,
                                                std::string_view name, std::optional<std::string_view> room,
                                                std::int64_t now_seconds) {
  if (token.empty())
    return token_problem::missing;
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return token_problem::malformed;
  auto signed_part = token.substr(0, second);
  auto signature = from_base64url(token.substr(second + 1));
  if (!signature)
    return token_problem::malformed;
  // The algorithm is fixed by the node, never taken from the token: a header
  // naming another one ("none") fails like any other forged token.
  auto expected = hmac_sha256(secret, signed_part);
  if (!same_bytes(*signature, expected))
    return token_problem::forged;
  auto header = from_base64url(token.substr(0, first));
  auto payload = from_base64url(token.substr(first + 1, second - first - 1));
  if (!header || !payload)
    return token_problem::malformed;
  auto head = nlohmann::json::parse(*header, nullptr, false);
  if (!head.is_object() || head.value("alg", std::string{}) != "HS256")
    return token_problem::malformed;
  auto claims = nlohmann::json::parse(*payload, nullptr, false);
  if (!claims.is_object())
    return token_problem::malformed;
  auto exp = claims.find("exp");
  auto sub = claims.find("sub");
  auto rooms = claims.find("rooms");
  if (exp == claims.end() || !exp->is_number_integer() || sub == claims.end() || !sub->is_string() ||
      rooms == claims.end() || !rooms->is_string())
    return token_problem::malformed;
  if (exp->get<std::int64_t>() <= now_seconds)
    return token_problem::expired;
  if (sub->get_ref<const std::string&>() != name)
    return token_problem::wrong_name;
  if (room && !room_allowed(rooms->get_ref<const std::string&>(), *room))
    return token_problem::wrong_room;
  token_claims out{sub->get<std::string>(), rooms->get<std::string>(), exp->get<std::int64_t>(),
                   user_role::member};
  if (auto role = claims.find("role"); role != claims.end() && role->is_string())
    out.role = role_named(role->get_ref<const std::string&>());
  return out;
}

} // namespace

result<token_claims, token_problem> verify_token(std::string_view token, std::string_view secret,
                                                 std::string_view name, std::string_view room,
                                                 std::int64_t now_seconds) {
  return check_token(token, secret, name, room, now_seconds);
}

result<token_claims, token_problem> verify_identity(std::string_view token, std::string_view secret,
                                                    std::string_view name, std::int64_t now_seconds) {
  return check_token(token, secret, name, std::nullopt, now_seconds);
}

bool room_allowed(std::string_view patterns, std::string_view room) {
  while (true) {
    auto comma = patterns.find(',');
    auto pattern = patterns.substr(0, comma);
    while (!pattern.empty() && pattern.front() == ' ')
      pattern.remove_prefix(1);
    while (!pattern.empty() && pattern.back() == ' ')
      pattern.remove_suffix(1);
    if (!pattern.empty() && glob_match(pattern, room))
      return true;
    if (comma == std::string_view::npos)
      return false;
    patterns.remove_prefix(comma + 1);
  }
}

} // namespace chatnode

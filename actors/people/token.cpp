#include "actors/people/token.hpp"

#include "actors/contracts/signing.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
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
    case token_problem::unknown_key: return "token is signed by a key the issuer does not list";
    case token_problem::algorithm: return "token algorithm is not accepted";
    case token_problem::not_yet_valid: return "token is not valid yet";
    case token_problem::wrong_issuer: return "token is from another issuer";
    case token_problem::wrong_audience: return "token is for another audience";
  }
  return "token refused";
}

namespace {

using json = nlohmann::json;

/// A NumericDate claim (RFC 7519: seconds, possibly with a fraction); none
/// when absent or not a number.
std::optional<std::int64_t> date_claim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number())
    return std::nullopt;
  if (it->is_number_float()) {
    auto value = it->get<double>();
    if (!(value > -9.0e18 && value < 9.0e18))
      return std::nullopt;
    return static_cast<std::int64_t>(value);
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return INT64_MAX;
  return it->get<std::int64_t>();
}

/// Whether `aud` (a string or an array of strings) names `audience`.
bool names_audience(const json& claims, std::string_view audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end())
    return false;
  if (aud->is_string())
    return aud->get_ref<const std::string&>() == audience;
  if (aud->is_array())
    for (const auto& one : *aud)
      if (one.is_string() && one.get_ref<const std::string&>() == audience)
        return true;
  return false;
}

/// The signature's check, as the header's `alg` picks it: none when the
/// token was signed by what `rules` trust.
std::optional<token_problem> check_signature(const json& head, std::string_view signed_part,
                                             std::string_view signature, const token_rules& rules,
                                             bool& by_issuer) {
  auto alg = head.find("alg");
  if (alg == head.end() || !alg->is_string())
    return token_problem::malformed;
  const auto& name = alg->get_ref<const std::string&>();
  if (name == "HS256") {
    if (rules.secret.empty())
      return token_problem::algorithm;
    if (!same_bytes(signature, hmac_sha256(rules.secret, signed_part)))
      return token_problem::forged;
    return std::nullopt;
  }
  auto asymmetric = jws_algorithm_named(name);
  if (!asymmetric || !rules.issuer)
    return token_problem::algorithm; // "none" among them
  std::string kid;
  if (auto it = head.find("kid"); it != head.end()) {
    if (!it->is_string())
      return token_problem::malformed;
    kid = it->get<std::string>();
  }
  if (rules.keys == nullptr || (!kid.empty() && !rules.keys->has(kid)))
    return token_problem::unknown_key;
  if (!rules.keys->verifies(*asymmetric, kid, signed_part, signature))
    return token_problem::forged;
  by_issuer = true;
  return std::nullopt;
}

/// `room`: none for a direct conversation (not checked).
result<token_claims, token_problem> check_token(std::string_view token, const token_rules& rules,
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
  auto header = from_base64url(token.substr(0, first));
  if (!signature || !header)
    return token_problem::malformed;
  auto head = json::parse(*header, nullptr, false);
  if (!head.is_object())
    return token_problem::malformed;
  bool by_issuer = false;
  if (auto problem = check_signature(head, signed_part, *signature, rules, by_issuer))
    return *problem;
  auto payload = from_base64url(token.substr(first + 1, second - first - 1));
  if (!payload)
    return token_problem::malformed;
  auto claims = json::parse(*payload, nullptr, false);
  if (!claims.is_object())
    return token_problem::malformed;
  auto exp = date_claim(claims, "exp");
  auto sub = claims.find("sub");
  auto rooms = claims.find("rooms");
  if (!exp || sub == claims.end() || !sub->is_string() || (rooms != claims.end() && !rooms->is_string()))
    return token_problem::malformed;
  if (by_issuer) {
    // The node's own tokens name no issuer: these checks are the provider's.
    auto iss = claims.find("iss");
    if (!rules.expected_issuer.empty() && (iss == claims.end() || !iss->is_string() ||
                                           iss->get_ref<const std::string&>() != rules.expected_issuer))
      return token_problem::wrong_issuer;
    if (!rules.expected_audience.empty() && !names_audience(claims, rules.expected_audience))
      return token_problem::wrong_audience;
  }
  if (*exp <= now_seconds)
    return token_problem::expired;
  if (claims.contains("nbf")) {
    auto nbf = date_claim(claims, "nbf");
    if (!nbf)
      return token_problem::malformed;
    if (*nbf > now_seconds + token_clock_leeway_seconds)
      return token_problem::not_yet_valid;
  }
  if (!name.empty() && sub->get_ref<const std::string&>() != name)
    return token_problem::wrong_name;
  // A token without `rooms` may join any room (a direct conversation is
  // never the rooms claim's to allow).
  std::string patterns = rooms == claims.end() ? std::string{"*"} : rooms->get<std::string>();
  if (room && !room_allowed(patterns, *room))
    return token_problem::wrong_room;
  token_claims out{sub->get<std::string>(), std::move(patterns), *exp, user_role::member, {}};
  if (auto role = claims.find("role"); role != claims.end() && role->is_string())
    out.role = role_named(role->get_ref<const std::string&>());
  // (1.2) A `name` claim is shown instead of `sub` when it can be: 1 to 64
  // characters, no control characters (else the token is still good, and
  // `sub` is shown).
  if (auto display = claims.find("name"); display != claims.end() && display->is_string())
    if (const auto& text = display->get_ref<const std::string&>(); shown_name(text))
      out.display = text;
  return out;
}

} // namespace

bool shown_name(std::string_view text) {
  std::size_t chars = 0;
  bool blank = true;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f)
      return false;
    if ((c & 0xC0) != 0x80)
      ++chars;
    if (c != ' ')
      blank = false;
  }
  return !blank && chars >= 1 && chars <= 64;
}

result<token_claims, token_problem> verify_token(std::string_view token, const token_rules& rules,
                                                 std::string_view name, std::string_view room,
                                                 std::int64_t now_seconds) {
  return check_token(token, rules, name, room, now_seconds);
}

result<token_claims, token_problem> verify_identity(std::string_view token, const token_rules& rules,
                                                    std::string_view name, std::int64_t now_seconds) {
  return check_token(token, rules, name, std::nullopt, now_seconds);
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

#include "actors/people/token.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <string>

using namespace chatnode;

namespace chatnode {
std::ostream& operator<<(std::ostream& out, token_problem problem) {
  return out << describe(problem);
}
} // namespace chatnode

namespace {

/// What is wrong with a token, or nothing.
std::optional<token_problem> problem(const result<token_claims, token_problem>& verdict) {
  if (ok(verdict))
    return std::nullopt;
  return error_of(verdict);
}

const std::string secret = "a-secret-of-32-characters-000000";
constexpr std::int64_t now = 1'800'000'000;

std::string token_for(std::string name, std::string rooms, std::int64_t expires = now + 60) {
  return mint_token(secret, token_claims{std::move(name), std::move(rooms), expires});
}

/// The token with one character of part `part` (0 header, 1 payload, 2 signature) changed.
std::string tampered(std::string token, int part) {
  std::size_t at = 0;
  for (int i = 0; i < part; ++i)
    at = token.find('.', at) + 1;
  token[at + 2] = token[at + 2] == 'A' ? 'B' : 'A';
  return token;
}

} // namespace

BOOST_AUTO_TEST_SUITE(tokens)

BOOST_AUTO_TEST_CASE(a_minted_token_admits_its_name_to_its_rooms) {
  auto token = token_for("ada", "general,team-*");
  BOOST_TEST(ok(verify_token(token, secret, "ada", "general", now)));
  BOOST_TEST(ok(verify_token(token, secret, "ada", "team-red", now)));
  BOOST_TEST((problem(verify_token(token, secret, "ada", "random", now)) == token_problem::wrong_room));
  BOOST_TEST((problem(verify_token(token, secret, "bob", "general", now)) == token_problem::wrong_name));
}

BOOST_AUTO_TEST_CASE(it_is_a_standard_hs256_jwt) {
  // Made with Python's hmac and base64 modules for {"sub":"ada","rooms":"*",
  // "exp":1800000060} under `secret`: other JWT implementations interoperate.
  const std::string sorted_keys =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE4MDAwMDAwNjAsInJvb21zIjoiKiIsInN1YiI6ImFkYSJ9."
    "TU3fIP1W4ZQ5NU8fZD8J4ozQSMnkNahtiVFvuycgwfo";
  const std::string other_order =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJyb29tcyI6IioiLCJleHAiOjE4MDAwMDAwNjB9."
    "yEKniDUFBZL_VkitAmYIoc6aYdbmAjCKTpze6UIZjkk";
  BOOST_TEST(token_for("ada", "*") == sorted_keys);
  BOOST_TEST(ok(verify_token(sorted_keys, secret, "ada", "general", now)));
  BOOST_TEST(ok(verify_token(other_order, secret, "ada", "general", now)));
}

BOOST_AUTO_TEST_CASE(missing_forged_and_expired_tokens_are_refused) {
  auto token = token_for("ada", "*");
  BOOST_TEST((problem(verify_token("", secret, "ada", "general", now)) == token_problem::missing));
  BOOST_TEST((problem(verify_token(token, "another-secret-of-32-characters!", "ada", "general", now)) ==
              token_problem::forged));
  for (int part = 0; part < 3; ++part)
    BOOST_TEST(!ok(verify_token(tampered(token, part), secret, "ada", "general", now)));
  BOOST_TEST((problem(verify_token(token_for("ada", "*", now), secret, "ada", "general", now)) ==
              token_problem::expired));
  BOOST_TEST((problem(verify_token(token_for("ada", "*", now - 1), secret, "ada", "general", now)) ==
              token_problem::expired));
}

BOOST_AUTO_TEST_CASE(malformed_tokens_are_refused_without_harm) {
  for (std::string bad :
       std::initializer_list<std::string>{"x", "a.b", "a.b.c.d", "...", "eyJ.eyJ.!!!", std::string(5000, '.'),
                                          std::string(4096, 'A') + "." + std::string(4096, 'A') + ".A"})
    BOOST_TEST(!ok(verify_token(bad, secret, "ada", "general", now)));
}

BOOST_AUTO_TEST_CASE(an_unsigned_alg_none_token_is_refused) {
  // {"alg":"none"} . {"sub":"ada","rooms":"*","exp":1800000060} . (empty)
  std::string none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEiLCJyb29tcyI6IioiLCJleHAiOjE4MDAwMDAwNjB9.";
  BOOST_TEST(!ok(verify_token(none, secret, "ada", "general", now)));
}

BOOST_AUTO_TEST_CASE(room_patterns) {
  BOOST_TEST(room_allowed("*", "anything"));
  BOOST_TEST(room_allowed("general", "general"));
  BOOST_TEST(!room_allowed("general", "general2"));
  BOOST_TEST(room_allowed("team-*", "team-"));
  BOOST_TEST(room_allowed("a*b*c", "axxbyyc"));
  BOOST_TEST(!room_allowed("a*b*c", "axxbyy"));
  BOOST_TEST(room_allowed(" lobby , dev-* ", "dev-1"));
  BOOST_TEST(!room_allowed("", "general"));
  BOOST_TEST(!room_allowed(",,", "general"));
  // No blow-up on patterns that backtrack a lot.
  BOOST_TEST(!room_allowed(std::string(60, '*') + "b", std::string(64, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

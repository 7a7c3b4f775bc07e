// (1.2) The issuer's JWKS as the node reads it, and which of the two checks
// a token's header picks. Signatures made by an implementation no one here
// wrote (npm's jose) are checked in tests/system/identity.test.mjs.

#include "actors/contracts/signing.hpp"
#include "actors/people/jwks.hpp"
#include "actors/people/token.hpp"

#include <boost/test/unit_test.hpp>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

using namespace chatnode;

namespace {

constexpr std::int64_t now = 1'800'000'000;

/// A fresh P-256 key's public JWK (OpenSSL's), as an issuer lists it.
nlohmann::json p256_jwk(std::string kid) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), EVP_PKEY_free};
  std::string point(65, '\0');
  std::size_t length = 0;
  BOOST_REQUIRE(EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                reinterpret_cast<unsigned char*>(point.data()), point.size(),
                                                &length) == 1);
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"kid", std::move(kid)},
          {"x", base64url(point.substr(1, 32))},
          {"y", base64url(point.substr(33, 32))}};
}

std::string jwks_of(const nlohmann::json& keys) {
  return nlohmann::json{{"keys", keys}}.dump();
}

std::string part(const nlohmann::json& j) {
  return base64url(j.dump());
}

/// A token with this header and claims and a signature of junk.
std::string unsigned_token(const nlohmann::json& header) {
  return part(header) + "." + part({{"sub", "ada"}, {"exp", now + 60}}) + "." +
         base64url(std::string(64, 'x'));
}

std::optional<token_problem> problem(const result<token_claims, token_problem>& verdict) {
  if (ok(verdict))
    return std::nullopt;
  return error_of(verdict);
}

} // namespace

BOOST_AUTO_TEST_SUITE(jwks)

BOOST_AUTO_TEST_CASE(an_issuers_keys_are_read_by_kid) {
  auto parsed = jwk_set::parse(jwks_of({p256_jwk("one"), p256_jwk("two")}));
  BOOST_REQUIRE(ok(parsed));
  const auto& keys = std::get<jwk_set>(parsed);
  BOOST_TEST(keys.size() == 2u);
  BOOST_TEST(keys.has("one"));
  BOOST_TEST(keys.has("two"));
  BOOST_TEST(!keys.has("three"));
}

BOOST_AUTO_TEST_CASE(what_is_no_jwks_is_refused_in_words) {
  for (std::string bad : {"", "[]", "{}", R"({"keys": {}})", R"({"keys": []})",
                          "{\"keys\": [1, \"x\", null]}", "not json at all"})
    BOOST_TEST(!ok(jwk_set::parse(bad)), bad);
}

BOOST_AUTO_TEST_CASE(keys_the_node_cannot_use_are_skipped) {
  auto good = p256_jwk("good");
  auto other_curve = p256_jwk("p384");
  other_curve["crv"] = "P-384";
  auto short_x = p256_jwk("short");
  short_x["x"] = base64url("too short");
  auto off_curve = p256_jwk("off");
  off_curve["y"] = base64url(std::string(32, '\x01'));
  auto for_encryption = p256_jwk("enc");
  for_encryption["use"] = "enc";
  auto other_alg = p256_jwk("rs");
  other_alg["alg"] = "RS256";
  auto small_rsa = nlohmann::json{{"kty", "RSA"},
                                  {"kid", "rsa-512"},
                                  {"n", base64url(std::string(64, '\xff'))},
                                  {"e", base64url("\x01\x00\x01")}};
  auto symmetric = nlohmann::json{{"kty", "oct"}, {"kid", "hmac"}, {"k", base64url("secret")}};
  // Members of the wrong type are skipped, not thrown over (found by the fuzz target).
  auto numeric_curve = p256_jwk("num-crv");
  numeric_curve["crv"] = 5;
  auto numeric_type = p256_jwk("num-kty");
  numeric_type["kty"] = nlohmann::json::array({"EC"});
  auto parsed = jwk_set::parse(jwks_of({other_curve, short_x, off_curve, for_encryption, other_alg, small_rsa,
                                        symmetric, numeric_curve, numeric_type, good}));
  BOOST_REQUIRE(ok(parsed));
  const auto& keys = std::get<jwk_set>(parsed);
  BOOST_TEST(keys.size() == 1u);
  BOOST_TEST(keys.has("good"));
  BOOST_TEST(!ok(jwk_set::parse(jwks_of({other_curve, small_rsa, symmetric}))));
}

BOOST_AUTO_TEST_CASE(at_most_so_many_keys_are_read) {
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 5; ++i)
    many.push_back(p256_jwk("k" + std::to_string(i)));
  auto parsed = jwk_set::parse(jwks_of(many), 3);
  BOOST_REQUIRE(ok(parsed));
  BOOST_TEST(std::get<jwk_set>(parsed).size() == 3u);
}

BOOST_AUTO_TEST_CASE(the_header_picks_the_check_never_the_key) {
  auto parsed = jwk_set::parse(jwks_of(nlohmann::json::array({p256_jwk("one")})));
  BOOST_REQUIRE(ok(parsed));
  const auto& keys = std::get<jwk_set>(parsed);
  token_rules issuer_only{{}, true, &keys, {}, {}};
  // HS256 is the node's secret's alone: with none, refused whatever it is signed with.
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "HS256"}}), issuer_only, "ada", "general", now)) ==
              token_problem::algorithm));
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "none"}}), issuer_only, "ada", "general", now)) ==
              token_problem::algorithm));
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "RS512"}}), issuer_only, "ada", "general", now)) ==
              token_problem::algorithm));
  // A key id not held: the keys may be fetched again.
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "ES256"}, {"kid", "two"}}), issuer_only, "ada",
                                   "general", now)) == token_problem::unknown_key));
  // A held key that did not sign it.
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "ES256"}, {"kid", "one"}}), issuer_only, "ada",
                                   "general", now)) == token_problem::forged));
  // The EC key is no RSA key, whatever the header says.
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "RS256"}, {"kid", "one"}}), issuer_only, "ada",
                                   "general", now)) == token_problem::forged));
  // Keys not fetched yet: every key is unknown.
  token_rules not_yet{{}, true, nullptr, {}, {}};
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "ES256"}, {"kid", "one"}}), not_yet, "ada",
                                   "general", now)) == token_problem::unknown_key));
  // Without an issuer configured, its algorithms are not taken.
  token_rules secret_only{"a-secret-of-32-characters-000000", false, nullptr, {}, {}};
  BOOST_TEST((problem(verify_token(unsigned_token({{"alg", "ES256"}, {"kid", "one"}}), secret_only, "ada",
                                   "general", now)) == token_problem::algorithm));
}

BOOST_AUTO_TEST_CASE(hs256_tokens_may_leave_rooms_out_and_start_later) {
  const std::string secret = "a-secret-of-32-characters-000000";
  auto token = [&](nlohmann::json claims) {
    auto signed_part = part({{"alg", "HS256"}, {"typ", "JWT"}}) + "." + part(claims);
    return signed_part + "." + base64url(hmac_sha256(secret, signed_part));
  };
  token_rules rules{secret, false, nullptr, {}, {}};
  BOOST_TEST(ok(verify_token(token({{"sub", "ada"}, {"exp", now + 60}}), rules, "ada", "anything", now)));
  BOOST_TEST(
    ok(verify_token(token({{"sub", "ada"}, {"exp", now + 60}, {"nbf", now + 20}}), rules, "ada", "x", now)));
  BOOST_TEST((problem(verify_token(token({{"sub", "ada"}, {"exp", now + 600}, {"nbf", now + 300}}), rules,
                                   "ada", "x", now)) == token_problem::not_yet_valid));
  BOOST_TEST((problem(verify_token(token({{"sub", "ada"}, {"exp", now + 60}, {"nbf", "soon"}}), rules, "ada",
                                   "x", now)) == token_problem::malformed));
  BOOST_TEST((problem(verify_token(token({{"sub", "ada"}, {"exp", now + 60}, {"rooms", 7}}), rules, "ada",
                                   "x", now)) == token_problem::malformed));
  // A renewal names no user when the connection has none yet.
  BOOST_TEST(ok(verify_identity(token({{"sub", "ada"}, {"exp", now + 60}}), rules, "", now)));
  auto named =
    verify_identity(token({{"sub", "u-1"}, {"name", "Ada"}, {"exp", now + 60.5}}), rules, "u-1", now);
  BOOST_REQUIRE(ok(named));
  BOOST_TEST(std::get<token_claims>(named).display == "Ada");
  BOOST_TEST(std::get<token_claims>(named).expires == now + 60);
}

BOOST_AUTO_TEST_SUITE_END()

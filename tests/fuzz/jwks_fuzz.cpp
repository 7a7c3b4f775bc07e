// (1.2) Fuzzes the identity provider's JWKS as the node reads it, and
// tokens checked against what was read. Properties: no crash or sanitizer
// report; at most the asked number of keys is kept; no token with a
// signature made of the input is ever taken.

#include "actors/contracts/signing.hpp"
#include "actors/people/jwks.hpp"
#include "actors/people/token.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto parsed = jwk_set::parse(input, 8);
  if (!ok(parsed))
    return 0;
  const auto& keys = std::get<jwk_set>(parsed);
  if (keys.size() == 0 || keys.size() > 8)
    std::abort();
  // Tokens signed with nothing any key holds: refused, whatever the header.
  token_rules rules{{}, true, &keys, {}, {}};
  for (const char* header : {R"({"alg":"RS256"})", R"({"alg":"ES256"})", R"({"alg":"EdDSA"})",
                             R"({"alg":"HS256"})", R"({"alg":"none"})"}) {
    auto token = base64url(header) + "." + base64url(R"({"sub":"ada","exp":4000000000})") + "." +
                 base64url(input.substr(0, 512));
    if (ok(verify_token(token, rules, "ada", "general", 1'800'000'000)))
      std::abort();
  }
  return 0;
}

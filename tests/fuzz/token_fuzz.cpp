// Fuzzes join-token checking. Properties: no crash or sanitizer report; no
// input that was not signed with the secret is ever accepted; a token minted
// from any claims is accepted for exactly those claims.

#include "actors/people/token.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode;

namespace {
constexpr std::string_view secret = "fuzzing-secret-0123456789abcdef";
constexpr std::int64_t now = 1'800'000'000;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  // As a token: never accepted, whatever the name and room.
  if (ok(verify_token(input, secret, "ada", "general", now)))
    std::abort();

  // As claims (name NUL rooms NUL room): minted, then checked.
  auto first = input.find('\0');
  auto second = first == std::string_view::npos ? first : input.find('\0', first + 1);
  if (second == std::string_view::npos)
    return 0;
  token_claims claims{std::string{input.substr(0, first)},
                      std::string{input.substr(first + 1, second - first - 1)}, now + 60};
  auto room = input.substr(second + 1);
  auto token = mint_token(secret, claims); // must not throw on any bytes
  for (unsigned char c : input)
    if (c >= 0x80)
      return 0; // not UTF-8 text: minted with replacement characters, so no round trip
  auto verdict = verify_token(token, secret, claims.name, room, now);
  bool allowed = room_allowed(claims.rooms, room);
  if (allowed ? !ok(verdict) : ok(verdict) || error_of(verdict) != token_problem::wrong_room)
    std::abort();
  auto later = verify_token(token, secret, claims.name, room, now + 60);
  if (ok(later) || error_of(later) != token_problem::expired)
    std::abort();
  return 0;
}

// Fuzzes what a browser hands the node for Web Push: a subscription's keys
// (base64url p256dh and auth) and a payload. Properties: no crash or
// sanitizer report; keys that are not base64url of a point on P-256 and 16
// bytes are refused with a reason; base64url decoding round-trips.

#include "node/push/web_push_crypto.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode::push;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  // As raw bytes: encoded, then decoded back unchanged.
  if (base64url_decode(base64url_encode(input)) != std::string{input})
    std::abort();

  // As p256dh NUL auth NUL payload.
  auto first = input.find('\0');
  auto second = first == std::string_view::npos ? first : input.find('\0', first + 1);
  if (second == std::string_view::npos)
    return 0;
  subscription_keys keys{std::string{input.substr(0, first)},
                         std::string{input.substr(first + 1, second - first - 1)}};
  auto payload = input.substr(second + 1);
  auto out = encrypt(payload, keys);
  if (out.error.empty() == out.body.empty())
    std::abort(); // a body, or a reason: never both, never neither
  if (out.error.empty() && out.body.size() != 86 + payload.size() + 1 + 16)
    std::abort();
  return 0;
}

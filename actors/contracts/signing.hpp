#pragma once
// The few primitives that signed values share (join tokens, upload tickets):
// base64url without padding, HMAC-SHA256 and a comparison that takes the
// same time whatever the bytes.

#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

/// Base64url without padding, as JWTs use.
std::string base64url(std::string_view bytes);
/// The bytes of a base64url text; none for a character outside the alphabet
/// or a last character whose unused bits are not zero (one text, one value).
std::optional<std::string> from_base64url(std::string_view text);
/// The 32-byte HMAC-SHA256 of `data` under `secret`.
std::string hmac_sha256(std::string_view secret, std::string_view data);
/// Equal, compared in constant time for equal lengths.
bool same_bytes(std::string_view a, std::string_view b);
/// `count` bytes from the system's cryptographic generator.
std::string random_bytes(std::size_t count);
/// Bytes as lower-case hex.
std::string hex(std::string_view bytes);

} // namespace chatnode

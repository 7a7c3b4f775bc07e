#pragma once
// (1.2) The cryptography of Web Push, with OpenSSL: a push message's body
// encrypted for one subscription (RFC 8291, "aes128gcm" of RFC 8188, one
// record), and the VAPID key pair whose ES256 token (RFC 8292) names this
// deployment to push services. Pure functions and a key; no I/O.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode::push {

/// The largest plaintext one record of 4,096 bytes carries (RFC 8291 §4:
/// 4,096 less the 86-byte header, the delimiter and the 16-byte tag).
inline constexpr std::size_t max_plaintext = 3993;

/// A subscription's keys as its browser gave them (base64url, as in
/// PushSubscription.toJSON()): `p256dh` an uncompressed P-256 point (65
/// bytes), `auth` a 16-byte secret.
struct subscription_keys {
  std::string p256dh;
  std::string auth;
};

/// The body of a push message for `keys`, or why it cannot be made (keys
/// malformed or not on the curve, a plaintext too long).
struct encrypted {
  std::string body;  ///< salt, record size, the sender's key, the record
  std::string error; ///< empty when `body` is good
};
encrypted encrypt(std::string_view plaintext, const subscription_keys& keys);

/// A deployment's VAPID key pair (P-256).
class vapid_key {
public:
  /// A new key pair.
  static vapid_key generate();
  /// A key kept with to_pem(); none when `pem` is not a P-256 private key.
  static std::optional<vapid_key> from_pem(std::string_view pem);

  /// The private key, PKCS#8 PEM: what is kept where every node finds it.
  std::string to_pem() const;
  /// The public key as browsers take it (applicationServerKey): the
  /// uncompressed point, base64url.
  std::string public_key() const;
  /// The `Authorization` header for a push service at `audience` (its
  /// origin, scheme://host[:port]): "vapid t=<ES256 JWT>, k=<public key>",
  /// the token expiring at `expires` (seconds since the epoch; at most 24
  /// hours ahead, say push services), naming `subject` (mailto: or https:).
  std::string authorization(std::string_view audience, std::string_view subject, std::int64_t expires) const;

private:
  explicit vapid_key(std::shared_ptr<void> key)
    : key_(std::move(key)) {}
  std::shared_ptr<void> key_; ///< an EVP_PKEY, freed with it
};

/// base64url without padding, as Web Push writes keys and tokens.
std::string base64url_encode(std::string_view bytes);
/// Decodes base64url (padding optional); none when it is not.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace chatnode::push

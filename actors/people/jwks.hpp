#pragma once
// (1.2) The deployment's identity provider's public keys, as its JWKS
// document (RFC 7517) lists them, and the signature checks of the tokens it
// issues (RFC 7515, 7518, 8037): RS256 (RSA of 2048 to 8192 bits, PKCS #1
// v1.5 with SHA-256), ES256 (P-256 with SHA-256) and EdDSA (Ed25519), with
// OpenSSL. A key is used only for the algorithm of its type (and its `alg`,
// when the document names one): a token cannot pick another.

#include "actors/contracts/result.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// The signature algorithms an issuer's tokens may use.
enum class jws_algorithm { rs256, es256, eddsa };

/// The algorithm a token header's `alg` names; none for any other
/// (HS256 included: it is the node's own secret's, never an issuer key's).
std::optional<jws_algorithm> jws_algorithm_named(std::string_view alg);

class jwk_set {
public:
  struct key;
  jwk_set();
  ~jwk_set();
  jwk_set(jwk_set&&) noexcept;
  jwk_set& operator=(jwk_set&&) noexcept;

  /// Whether a key named `kid` is held (whatever its type).
  bool has(std::string_view kid) const;
  std::size_t size() const;

  /// Whether one of the keys for `alg` named `kid` (every such key when
  /// `kid` is empty) signed `signed_part` with `signature` (as the token
  /// carries it: raw R || S for ES256).
  bool verifies(jws_algorithm alg, std::string_view kid, std::string_view signed_part,
                std::string_view signature) const;

  /// The keys a JWKS document lists, at most `max_keys`: those of a type,
  /// curve or use the node does not take are skipped; a document that is no
  /// JWKS, or has no key the node can use, is an error (in words).
  static result<jwk_set, std::string> parse(std::string_view document, std::size_t max_keys = 64);

private:
  std::vector<std::unique_ptr<key>> keys_;
};

} // namespace chatnode

#pragma once
// (1.2) The identity provider's keys as last fetched (jwks.hpp): set by the
// issuer keeper, read by every session as it checks a token. Until the
// first fetch succeeds there are none; a failed fetch keeps the last good
// ones.

#include "actors/people/jwks.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace chatnode {

/// Where the deployment's tokens come from, and what they must say.
struct issuer_settings {
  std::string jwks_url; ///< https; empty: tokens are the node's own (HS256) alone
  std::string issuer;   ///< `iss`; empty: not checked
  std::string audience; ///< `aud`; empty: not checked
};

class issuer_keys {
public:
  std::shared_ptr<const jwk_set> get() const { return keys_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const jwk_set> keys) { keys_.store(std::move(keys), std::memory_order_release); }

private:
  std::atomic<std::shared_ptr<const jwk_set>> keys_;
};

} // namespace chatnode

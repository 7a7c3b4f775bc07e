#pragma once
// (1.2) The deployment's VAPID key pair, which identifies it to push
// services. Browsers bind each subscription to its public key, so every node
// must hold the same one, and keep it across restarts: an operator's own
// key, given to every node; else, alone, the node's key file; with Redis,
// the first node's key, kept there (known once the bus has read it; asked
// again on every heartbeat, so a Redis that lost it gets one again). Read
// from actor threads, set from the node and the bus.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace chatnode {

class push_identity {
public:
  struct key {
    std::string private_pem; ///< PKCS#8 PEM, as kept
    std::string public_key;  ///< the uncompressed P-256 point, base64url: what clients take
  };
  /// Gives the public key of a private key in PEM; empty when it is none.
  using derive_fn = std::function<std::string(const std::string& private_pem)>;

  /// `candidate`: this node's own key, offered to the bus when it keeps none.
  push_identity(std::string candidate, derive_fn derive)
    : candidate_(std::move(candidate)),
      derive_(std::move(derive)) {}

  const std::string& candidate() const { return candidate_; }

  /// The key, or none while it is not known yet.
  std::shared_ptr<const key> get() const { return value_.load(std::memory_order_acquire); }

  /// Takes the kept key; false (and nothing changes) when it is not a key.
  bool keep(const std::string& private_pem) {
    if (auto now = get(); now && now->private_pem == private_pem)
      return true;
    auto public_key = derive_(private_pem);
    if (public_key.empty())
      return false;
    value_.store(std::make_shared<const key>(key{private_pem, std::move(public_key)}),
                 std::memory_order_release);
    return true;
  }

  /// Why the key cannot be known (a kept one that is not a key); clients
  /// asking for it are told.
  void set_problem(std::string why) {
    problem_.store(std::make_shared<const std::string>(std::move(why)), std::memory_order_release);
  }
  std::shared_ptr<const std::string> problem() const { return problem_.load(std::memory_order_acquire); }

  /// Whether anyone in the deployment ever subscribed to pushes: until
  /// then a stored message asks nothing of the bus for pushes (push on
  /// costs nothing until someone subscribes). Set by this node's
  /// subscriptions, by the bus when it holds some (read from Redis on every
  /// heartbeat), and never unset.
  bool anyone_subscribed() const { return subscribed_.load(std::memory_order_relaxed); }
  void set_subscribed() const { subscribed_.store(true, std::memory_order_relaxed); }

private:
  std::string candidate_;
  derive_fn derive_;
  std::atomic<std::shared_ptr<const key>> value_;
  std::atomic<std::shared_ptr<const std::string>> problem_;
  mutable std::atomic<bool> subscribed_{false}; ///< a fact learned, not part of the key
};

} // namespace chatnode

#pragma once
// (1.2) The port through which the pusher has a push sent. The node
// implements it (node/push/): the payload encrypted for the subscription
// (RFC 8291), the deployment's VAPID token (RFC 8292), and a POST to the
// push service over a connection to an address its policy allows.

#include "actors/contracts/messages.hpp"

#include <functional>
#include <string>

namespace chatnode {

/// One push for one subscription.
struct push_request {
  push_subscription to;
  std::string payload; ///< the JSON the service worker reads, before encryption
  std::string urgency; ///< RFC 8030 §5.3: very-low, low, normal or high
  std::string topic;   ///< RFC 8030 §5.4: a newer push with it replaces one not yet delivered
  int ttl = 86400;     ///< seconds the push service keeps it for an offline browser
};

class push_sender {
public:
  virtual ~push_sender() = default;
  /// Sends `request`; `done` runs once, on any thread.
  virtual void send(push_request request, std::function<void(push_outcome)> done) = 0;
};

} // namespace chatnode

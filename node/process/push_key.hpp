#pragma once
// (1.2) The deployment's VAPID identity as [push] configures it: none when
// push is off; the operator's own key, known at once; a node alone, the key
// in its key file (made on the first start); with Redis, a fresh key offered
// to the bus, which keeps the first node's for every node.

#include "actors/contracts/push_identity.hpp"
#include "actors/contracts/result.hpp"
#include "node/process/config.hpp"

#include <memory>

namespace chatnode {

/// The identity, or a one-line error naming the setting at fault (an
/// operator's key that is not one). A key file that cannot be kept leaves
/// the identity with its problem set instead.
result<std::shared_ptr<push_identity>> push_identity_of(const node_config& config);

} // namespace chatnode

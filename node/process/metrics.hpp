#pragma once
// Renders the node's counters in the Prometheus text exposition format.

#include "node/edge/edge_stats.hpp"

#include <string>
#include <vector>

namespace chatnode {

/// A Redis Cluster master and whether this node reaches it.
struct shard_state {
  std::string master;
  bool up = false;
};

struct node_status {
  bool ready = false;
  bool redis_configured = false;
  std::vector<shard_state> shards; ///< empty unless on a Redis Cluster
  bool archive_configured = false;
};

/// The /metrics body.
/// The Prometheus text for what the chat and the edge counted, and the node's status.
std::string render_metrics(const chat_stats& chat, const edge_stats& edge, const node_status& status);

} // namespace chatnode

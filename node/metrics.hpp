#pragma once
// Renders the node's counters in the Prometheus text exposition format.

#include <string>

namespace chatnode {

struct node_status {
  bool ready = false;
  bool redis_configured = false;
};

/// The /metrics body.
std::string render_metrics(const node_status& status);

} // namespace chatnode

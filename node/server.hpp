#pragma once
// The composition root: builds the actor system, the bus, the hub and the
// network edge from a config, runs them, and shuts them down in order.

#include "node/config.hpp"

namespace chatnode {

/// Runs a node until SIGTERM or SIGINT; returns the process exit code.
int run_server(const node_config& config);

} // namespace chatnode

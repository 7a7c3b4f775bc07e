#pragma once
// The composition root: builds the actor system, the bus, the hub and the
// network edge from a config, runs them, and shuts them down in order.

#include "node/process/config.hpp"

#include <string>

namespace chatnode {

/// Says why the node cannot start (or a command of the binary failed): one
/// line "chatnode: <message>" on stderr, the one way every startup error is
/// told; returns `exit_code` for main to return.
int startup_error(const std::string& message, int exit_code = 2);

/// Runs a node until SIGTERM or SIGINT; returns the process exit code.
int run_server(const node_config& config);

} // namespace chatnode

#pragma once
// The lines both Redis links (commands and subscriptions, plain and sharded)
// write when they come up and go down. Operators and the system tests read
// them: their text stays as it is.

#include <string>

namespace chatnode {

/// `redis_connected`: the link is up and set up.
void log_redis_up(const std::string& link, const std::string& host, int port);

/// A working link lost is a warning (`redis_lost`); an attempt that failed is
/// only debug (`redis_connect_failed`), so a server that is down is retried quietly.
void log_redis_down(const std::string& link, const std::string& reason, bool was_up);

} // namespace chatnode

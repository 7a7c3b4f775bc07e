#pragma once
// Retry-After (RFC 9110 §10.2.3), as a server that asks the node to come
// back later says it: delta-seconds or an HTTP date. Outside bytes: the
// node waits at most a day whatever they say.

#include <chrono>
#include <string_view>

namespace chatnode {

/// Seconds a Retry-After field asks for (0 to 86,400: a date in the past is
/// 0, anything longer is a day); -1 when it says neither.
int retry_after_seconds(std::string_view field, std::chrono::system_clock::time_point now);

} // namespace chatnode

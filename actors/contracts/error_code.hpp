#pragma once
// The reasons an `error` event gives (PROTOCOL.md), shared by the codec that
// writes them, the actors that choose them and the counters that count them.

#include <cstddef>
#include <string_view>

namespace chatnode {

/// Error codes of `error` events.
enum class error_code {
  bad_json,
  bad_request,
  not_joined,
  too_large,
  rate_limited,
  unavailable,
  unauthorized, ///< a join without a valid token where [auth] requires one
  forbidden,    ///< (1.1) not this user's to change
  not_found,    ///< (1.1) no such message in the room's retained history, or deleted
};
inline constexpr std::size_t error_code_count = 9;
static_assert(static_cast<std::size_t>(error_code::not_found) + 1 == error_code_count,
              "error_code_count and the enum differ");

std::string_view to_string(error_code code);

} // namespace chatnode

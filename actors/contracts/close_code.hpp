#pragma once
// Every WebSocket close code the node sends (RFC 6455, section 7.4, and the
// protocol's own), in one place: the actors close with some, the edge's
// frame reader with others.

#include <cstdint>

namespace chatnode::close_code {

inline constexpr std::uint16_t going_away = 1001;       ///< the node shuts down at once
inline constexpr std::uint16_t protocol_error = 1002;   ///< a frame that breaks RFC 6455
inline constexpr std::uint16_t invalid_payload = 1007;  ///< text that is not UTF-8
inline constexpr std::uint16_t policy_violation = 1008; ///< put out by an operator or a limit
inline constexpr std::uint16_t too_big = 1009;          ///< a message over [limits] max_frame_bytes
inline constexpr std::uint16_t service_restart = 1012;  ///< drained on SIGTERM: reconnect elsewhere
inline constexpr std::uint16_t try_again_later = 1013;  ///< a reader too slow for its queue
inline constexpr std::uint16_t token_expired = 4001;    ///< (1.2) its token expired with no fresh one

} // namespace chatnode::close_code

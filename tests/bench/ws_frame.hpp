#pragma once
// Reading a WebSocket frame's header (RFC 6455, 5.2), for the bench programs
// that frame by hand (chatbench, floor): no library on their hot paths.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace bench {

struct frame_header {
  std::size_t size = 0;     ///< bytes before the payload, the masking key included
  std::size_t key_at = 0;   ///< where the masking key starts, when masked
  std::uint64_t length = 0; ///< payload bytes
  bool masked = false;
  unsigned opcode = 0;
  bool fin = false;
};

/// The header of the frame at `p` (`avail` bytes there), or nothing until
/// enough of it has come.
inline std::optional<frame_header> read_frame_header(const unsigned char* p, std::size_t avail) {
  if (avail < 2)
    return std::nullopt;
  frame_header h;
  h.opcode = p[0] & 0x0f;
  h.fin = (p[0] & 0x80) != 0;
  h.masked = (p[1] & 0x80) != 0;
  h.length = p[1] & 0x7f;
  h.size = 2;
  if (h.length == 126) {
    if (avail < 4)
      return std::nullopt;
    h.length = (std::uint64_t{p[2]} << 8) | p[3];
    h.size = 4;
  } else if (h.length == 127) {
    if (avail < 10)
      return std::nullopt;
    h.length = 0;
    for (int i = 2; i < 10; ++i)
      h.length = (h.length << 8) | p[i];
    h.size = 10;
  }
  h.key_at = h.size;
  if (h.masked)
    h.size += 4;
  return h;
}

} // namespace bench

#pragma once
// WebSocket framing for the server side (RFC 6455, section 5), without a
// stream object per connection: the reader keeps a few counters between
// reads and holds bytes only while a message is incomplete; the writer is a
// header in front of bytes the caller already has. No extensions are
// negotiated, so any RSV bit is an error.

#include "actors/contracts/close_code.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chatnode::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

/// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF).
bool valid_utf8(std::string_view text) noexcept;

/// The largest header a server frame needs: 2 bytes, 8 of length.
inline constexpr std::size_t max_header_bytes = 10;

/// Writes the header of one unmasked, final frame of `length` payload bytes
/// to `out`; returns its size.
std::size_t write_header(unsigned char* out, opcode op, std::uint64_t length) noexcept;

/// A close frame's payload: the code, then the reason cut to fit a control
/// frame (123 bytes, at a character boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

/// The code a close frame's payload carries; 1000 when it carries none.
std::uint16_t close_code_of(std::string_view payload) noexcept;

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
std::string accept_key(std::string_view client_key);

/// Reads a client's frames: masked, control frames whole and short, data
/// messages possibly fragmented, with control frames between fragments.
/// Each complete data message and each control frame is handed to the
/// caller; a violation stops reading for good, with the close code to send.
class frame_reader {
public:
  explicit frame_reader(std::size_t max_message_bytes)
    : max_message_(static_cast<std::uint32_t>(std::min<std::size_t>(max_message_bytes, UINT32_MAX))) {}

  /// Reads `n` bytes at `p`. For each complete message or control frame
  /// calls `on(op, payload)`, which may move the payload out; when it
  /// returns false, reading stops after that message (the caller pauses).
  /// Returns how many bytes were read; the rest must be fed again later.
  template <class Handler>
  std::size_t feed(const char* p, std::size_t n, Handler&& on);

  bool failed() const noexcept { return failure_code_ != 0; }
  std::uint16_t failure_code() const noexcept { return failure_code_; }
  const char* failure_reason() const noexcept { return failure_reason_; }

  /// True between messages: the reader holds no bytes of a partial one.
  bool between_messages() const noexcept { return head_have_ == 0 && !in_frame_ && message_op_ == 0; }

  /// Gives back the memory of a large message once it has been handed on.
  void release() noexcept;

  /// Bytes of memory the reader holds for partial messages.
  std::size_t held_bytes() const noexcept { return message_.capacity() + control_.capacity(); }

private:
  enum class step { incomplete, frame, failed };
  /// Takes header bytes from p (n of them); sets `used`.
  step read_header(const unsigned char* p, std::size_t n, std::size_t& used);
  void fail(std::uint16_t code, const char* reason) noexcept;
  /// Checks a close frame's payload (RFC 6455, 5.5.1 and 7.4); false once failed.
  bool close_payload_ok();
  void unmask_into(std::string& out, const char* p, std::size_t n);

  std::string message_;    ///< a data message's payload so far
  std::string control_;    ///< a control frame's payload so far
  std::uint64_t left_ = 0; ///< payload bytes of the current frame still to come
  const char* failure_reason_ = "";
  std::uint32_t max_message_; ///< the configuration allows at most 16 MiB
  unsigned char head_[14] = {};
  unsigned char key_[4] = {};
  std::uint8_t head_have_ = 0;
  std::uint8_t key_at_ = 0;     ///< the mask's offset for the next payload byte
  std::uint8_t frame_op_ = 0;   ///< the current frame's opcode
  std::uint8_t message_op_ = 0; ///< text or binary while a data message is open, else 0
  bool frame_fin_ = false;
  bool in_frame_ = false; ///< a header was read and its payload is coming
  std::uint16_t failure_code_ = 0;
};

// -- the reader's loop --------------------------------------------------------

template <class Handler>
std::size_t frame_reader::feed(const char* p, std::size_t n, Handler&& on) {
  std::size_t at = 0;
  while (!failed()) {
    if (!in_frame_) {
      if (at == n)
        break;
      std::size_t used = 0;
      auto s = read_header(reinterpret_cast<const unsigned char*>(p + at), n - at, used);
      at += used;
      if (s != step::frame)
        break;
    }
    bool control = frame_op_ >= 8;
    auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - at));
    unmask_into(control ? control_ : message_, p + at, take);
    at += take;
    left_ -= take;
    if (left_ > 0)
      break; // the rest of the payload is still to come
    in_frame_ = false;
    if (control) {
      auto op = static_cast<opcode>(frame_op_);
      if (op == opcode::close && !close_payload_ok())
        break;
      bool go_on = on(op, control_);
      control_.clear();
      if (!go_on)
        break;
      continue;
    }
    if (!frame_fin_)
      continue; // more fragments of this message follow
    auto op = static_cast<opcode>(message_op_);
    message_op_ = 0;
    if (op == opcode::text && !valid_utf8(message_)) {
      fail(close_code::invalid_payload, "text message is not UTF-8");
      break;
    }
    bool go_on = on(op, message_);
    message_.clear();
    if (!go_on)
      break;
  }
  return at;
}

} // namespace chatnode::ws

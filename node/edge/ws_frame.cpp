#include "node/edge/ws_frame.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace chatnode::ws {

bool valid_utf8(std::string_view text) noexcept {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80, high = 0xbf; // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0)
        low = 0xa0; // overlong
      else if (c == 0xed)
        high = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0)
        low = 0x90; // overlong
      else if (c == 0xf4)
        high = 0x8f; // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= extra || p[1] < low || p[1] > high)
      return false;
    for (std::size_t i = 2; i <= extra; ++i)
      if ((p[i] & 0xc0) != 0x80)
        return false;
    p += extra + 1;
  }
  return true;
}

std::size_t write_header(unsigned char* out, opcode op, std::uint64_t length) noexcept {
  out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op));
  if (length < 126) {
    out[1] = static_cast<unsigned char>(length);
    return 2;
  }
  if (length <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(length >> 8);
    out[3] = static_cast<unsigned char>(length);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<unsigned char>(length >> (56 - 8 * i));
  return 10;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  constexpr std::size_t most = 123; // a control frame holds 125 bytes, 2 are the code
  if (reason.size() > most) {
    reason = reason.substr(0, most);
    while (!reason.empty() && !valid_utf8(reason))
      reason.remove_suffix(1); // do not end inside a character
  }
  std::string payload;
  payload.reserve(2 + reason.size());
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  payload += reason;
  return payload;
}

std::uint16_t close_code_of(std::string_view payload) noexcept {
  if (payload.size() < 2)
    return 1000;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                    static_cast<unsigned char>(payload[1]));
}

std::string accept_key(std::string_view client_key) {
  // RFC 6455, 4.2.2: base64(SHA-1(key + this GUID)).
  std::string input{client_key};
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  auto n = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_size));
  return std::string{reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n)};
}

void frame_reader::release() noexcept {
  if (message_.capacity() > 256)
    std::string{}.swap(message_);
}

void frame_reader::fail(std::uint16_t code, const char* reason) noexcept {
  failure_code_ = code;
  failure_reason_ = reason;
  std::string{}.swap(message_);
  std::string{}.swap(control_);
}

bool frame_reader::close_payload_ok() {
  if (control_.empty())
    return true;
  if (control_.size() < 2) {
    fail(close_code::protocol_error, "close frame with a one-byte payload");
    return false;
  }
  auto code = close_code_of(control_);
  if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))) {
    fail(close_code::protocol_error, "close code not allowed on the wire");
    return false;
  }
  if (!valid_utf8(std::string_view{control_}.substr(2))) {
    fail(close_code::invalid_payload, "close reason is not UTF-8");
    return false;
  }
  return true;
}

void frame_reader::unmask_into(std::string& out, const char* p, std::size_t n) {
  auto from = out.size();
  out.append(p, n);
  auto* b = reinterpret_cast<unsigned char*>(out.data() + from);
  for (std::size_t i = 0; i < n; ++i)
    b[i] ^= key_[(key_at_ + i) & 3];
  key_at_ = static_cast<std::uint8_t>((key_at_ + n) & 3);
}

frame_reader::step frame_reader::read_header(const unsigned char* p, std::size_t n, std::size_t& used) {
  // Gather the header first: it is 2 to 14 bytes and may arrive in pieces.
  used = 0;
  auto need = [&]() -> std::size_t {
    if (head_have_ < 2)
      return 2;
    std::size_t size = 2 + 4; // a client's frames are masked
    auto len = head_[1] & 0x7f;
    if (len == 126)
      size += 2;
    else if (len == 127)
      size += 8;
    return size;
  };
  while (head_have_ < need()) {
    if (used == n)
      return step::incomplete;
    head_[head_have_++] = p[used++];
    if (head_have_ == 2) {
      // Checked as soon as known, before any length or payload is waited for.
      unsigned first = head_[0], second = head_[1];
      unsigned op = first & 0x0f;
      bool fin = (first & 0x80) != 0;
      if ((first & 0x70) != 0) {
        fail(close_code::protocol_error, "reserved bits set");
        return step::failed;
      }
      if ((second & 0x80) == 0) {
        fail(close_code::protocol_error, "a client's frames must be masked");
        return step::failed;
      }
      if (op >= 8) {
        if (op > 10) {
          fail(close_code::protocol_error, "unknown opcode");
          return step::failed;
        }
        if (!fin || (second & 0x7f) > 125) {
          fail(close_code::protocol_error, "control frames are whole and at most 125 bytes");
          return step::failed;
        }
      } else if (op > 2) {
        fail(close_code::protocol_error, "unknown opcode");
        return step::failed;
      } else if (op == 0 && message_op_ == 0) {
        fail(close_code::protocol_error, "continuation without a message");
        return step::failed;
      } else if (op != 0 && message_op_ != 0) {
        fail(close_code::protocol_error, "a new message before the last one ended");
        return step::failed;
      }
    }
  }
  std::uint64_t length = head_[1] & 0x7f;
  std::size_t key_from = 2;
  if (length == 126) {
    length = (std::uint64_t{head_[2]} << 8) | head_[3];
    key_from = 4;
    if (length < 126) {
      fail(close_code::protocol_error, "length not in its shortest form");
      return step::failed;
    }
  } else if (length == 127) {
    length = 0;
    for (int i = 2; i < 10; ++i)
      length = (length << 8) | head_[i];
    key_from = 10;
    if (length >> 63) {
      fail(close_code::protocol_error, "frame length out of range");
      return step::failed;
    }
    if (length <= 0xffff) {
      fail(close_code::protocol_error, "length not in its shortest form");
      return step::failed;
    }
  }
  std::copy_n(head_ + key_from, 4, key_);
  key_at_ = 0;
  frame_op_ = head_[0] & 0x0f;
  frame_fin_ = (head_[0] & 0x80) != 0;
  head_have_ = 0;
  if (frame_op_ < 8) {
    if (frame_op_ != 0)
      message_op_ = frame_op_;
    // Refused by its announced size, before any of it is held.
    if (length > max_message_ || message_.size() + length > max_message_) {
      fail(close_code::too_big, "message too big");
      return step::failed;
    }
    // Not reserved ahead: a peer announcing big frames and sending a byte at
    // a time holds only what it has sent.
  }
  left_ = length;
  in_frame_ = true;
  return step::frame;
}

} // namespace chatnode::ws

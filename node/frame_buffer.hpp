#pragma once
// The buffer a connection reads its client's messages into, sized for an
// idle connection. Beast's read prepares the buffer before it waits for
// data, as much as max_size() - size() allows up to 1,536 bytes: with a
// plain flat buffer every idle connection held that much. This one reports
// a small maximum while it is empty, so that a waiting read takes only
// `idle_bytes`; once a message has begun the real limit applies and the
// rest of the message gets the room it needs. release() gives back what a
// large message took.

#include <boost/beast/core/flat_buffer.hpp>

#include <algorithm>
#include <cstddef>

namespace chatnode {

class frame_buffer {
public:
  using const_buffers_type = boost::beast::flat_buffer::const_buffers_type;
  using mutable_buffers_type = boost::beast::flat_buffer::mutable_buffers_type;

  /// Most requests (join, send, typing, read) fit in this many bytes.
  static constexpr std::size_t idle_bytes = 256;

  std::size_t size() const noexcept { return buffer_.size(); }
  std::size_t max_size() const noexcept {
    return buffer_.size() == 0 ? std::min(idle_bytes, buffer_.max_size()) : buffer_.max_size();
  }
  std::size_t capacity() const noexcept { return buffer_.capacity(); }
  const_buffers_type data() const noexcept { return buffer_.data(); }
  mutable_buffers_type prepare(std::size_t n) { return buffer_.prepare(n); }
  void commit(std::size_t n) noexcept { buffer_.commit(n); }
  void consume(std::size_t n) noexcept { buffer_.consume(n); }

  /// Empties the buffer, keeping at most `idle_bytes` of memory.
  void release() {
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > idle_bytes)
      buffer_.shrink_to_fit();
  }

private:
  boost::beast::flat_buffer buffer_;
};

} // namespace chatnode

#pragma once
// The actors' view of a client connection: a place to put encoded events.
// The network edge implements it; actors never see sockets.

#include <cstdint>
#include <memory>
#include <string>

namespace chatnode {

/// An encoded event, shared by every recipient on this node.
using frame_ptr = std::shared_ptr<const std::string>;

inline frame_ptr make_frame(std::string encoded) {
  return std::make_shared<const std::string>(std::move(encoded));
}

class client_sink {
public:
  virtual ~client_sink() = default;

  /// Queues an event for the client. Thread-safe and never blocks; a client
  /// whose queue is past its bound is closed with 1013 instead.
  virtual void send(frame_ptr frame) = 0;

  /// Closes the connection with a WebSocket close code. Thread-safe.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

using sink_ptr = std::shared_ptr<client_sink>;

} // namespace chatnode

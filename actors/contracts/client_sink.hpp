#pragma once
// The actors' view of a client connection: a place to put encoded events.
// The network edge implements it; actors never see sockets.

#include "actors/contracts/chat_types.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace chatnode {

class client_sink {
public:
  virtual ~client_sink() = default;

  /// Queues an event for the client. Thread-safe and never blocks; a client
  /// whose queue is past its bound is closed with 1013 instead. `received_ns`
  /// stamps a live message with its arrival from the bus, for the fan-out
  /// latency histogram.
  virtual void send(frame_ptr frame, std::int64_t received_ns = 0) = 0;

  /// Closes the connection with a WebSocket close code. Thread-safe.
  virtual void close(std::uint16_t code, std::string reason) = 0;

  /// The session actor has handled one frame the client sent. The edge stops
  /// reading while too many wait, so a flood cannot grow a mailbox without
  /// bound. Thread-safe.
  virtual void frame_handled() = 0;
};

using sink_ptr = std::shared_ptr<client_sink>;

} // namespace chatnode

#pragma once
// One WebSocket connection. Moves bytes only: each text message read goes to
// the connection's session actor; events from the actors reach it through
// its I/O thread's inbox, wait in a bounded queue and are written in batches
// (one JSON array frame when several are queued). The connection lives on
// one I/O thread: all socket work runs there, without a strand.
//
// It frames by itself (node/edge/ws_frame.hpp) on a plain socket: while idle it
// holds no read buffer and no pending read, only a wait for the socket to
// become readable, and its worker's sweep pings and times it out.

#include "actors/contracts/client_sink.hpp"
#include "actors/contracts/interfaces.hpp"
#include "node/edge/edge_context.hpp"
#include "node/edge/io_pool.hpp"
#include "node/edge/ws_frame.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace chatnode {

class websocket_session : public client_sink,
                          public pinned_connection,
                          public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(boost::asio::ip::tcp::socket&& socket, edge_context& ctx, connection_slot slot,
                    io_worker& worker);
  ~websocket_session() override;

  /// Completes the upgrade for an already read request.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  void send(frame_ptr frame, std::int64_t received_ns = 0) override;
  void close(std::uint16_t code, std::string reason) override;
  void frame_handled() override;

  void take(frame_ptr frame, std::int64_t received_ns) override;
  void flush() override;
  void flush_deferred() override;
  bool check_idle(std::int64_t now_ns) override;

  /// The session actor, for shutdown.
  session_actor actor() const;

private:
  void on_upgraded(boost::system::error_code ec);
  void do_read();
  void on_readable(boost::system::error_code ec);
  /// Hands read bytes to the reader; keeps what it could not take yet.
  void take_bytes(const char* data, std::size_t n);
  bool on_message(ws::opcode op, std::string& payload);
  bool pause_reading();
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void queue_control(ws::opcode op, std::string_view payload);
  void begin_close(std::uint16_t code, std::string reason);
  /// Closes the socket now; the connection is over.
  void drop();
  void on_closed();
  std::size_t pause_pending() const;
  bool may_resume() const;
  void resume_if_paused();
  void release_idle_buffers(std::size_t last_events, std::size_t last_bytes);
  /// Forgets what was queued and not yet written.
  void drop_queued();

  /// Bound to its I/O thread's context itself rather than to a type-erased
  /// executor: the socket and each of its pending operations are smaller.
  using socket_type =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
  socket_type socket_;
  ws::frame_reader reader_;
  std::string unread_; ///< bytes read while reading was paused; empty otherwise
  edge_context& ctx_;
  io_worker& worker_;
  connection_slot slot_; ///< this connection's place in the per-address count
  std::uint64_t id_ = 0;
  session_actor actor_; ///< set once on accept, on the I/O thread

  // Shared with the actors' threads.
  std::atomic<std::size_t> pending_{0};   ///< sent and not yet written (inbox and queue)
  std::atomic<std::size_t> unhandled_{0}; ///< frames read, not yet handled by the actor
  std::atomic<bool> overflowed_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> read_paused_{false};

  // The I/O thread's.
  /// An event waiting to be written, with its arrival stamp (0: none).
  struct outbound {
    frame_ptr frame;
    std::int64_t received_ns = 0;
  };
  /// What a connection holds only while it has something to write: made
  /// for the first event or control frame after a quiet spell, given back
  /// by the worker's sweep once it has written nothing for a second.
  struct write_state {
    std::vector<outbound> queue; ///< waiting; written from `head` on
    std::size_t head = 0;
    std::vector<outbound> writing;
    std::string batch;   ///< several events as one JSON array, while it is written
    std::string control; ///< control frames (pong, ping, close) to write next, framed
    std::string control_writing;
    unsigned char header[ws::max_header_bytes] = {};
  };
  std::unique_ptr<write_state> out_;
  /// The write state, made when missing.
  write_state& writes();
  std::int64_t last_write_ns_ = 0; ///< when the last write began
  std::int64_t last_heard_ns_ = 0; ///< when the peer last sent anything
  bool waiting_ = false;           ///< a wait for readable bytes is pending
  bool write_in_progress_ = false;
  bool deferred_ = false; ///< waiting for the worker's flush tick
  bool pinged_ = false;   ///< a ping is out since the peer was last heard
  bool closing_ = false;
  bool close_sent_ = false;
  bool close_heard_ = false; ///< the peer's close frame arrived
  bool registered_ = false;
  /// Cuts off a peer that does not finish the closing handshake; made when closing.
  std::unique_ptr<boost::asio::steady_timer> close_timer_;
};

} // namespace chatnode

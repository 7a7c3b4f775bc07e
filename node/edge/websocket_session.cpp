#include "node/edge/websocket_session.hpp"

#include "actors/contracts/messages.hpp"
#include "actors/wire/protocol.hpp"
#include "node/edge/edge_stats.hpp"
#include "node/process/log.hpp"
#include "node/edge/op_memory.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>

#include <caf/send.hpp>

#include <array>
#include <chrono>

namespace chatnode {

namespace http = boost::beast::http;
namespace net = boost::asio;
using sys_error = boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_batch_events = 256;
constexpr std::size_t max_batch_bytes = 256 * 1024;
constexpr auto close_timeout = 5s;         // a peer that never reads is cut off after this
constexpr std::size_t unhandled_high = 64; // reading pauses at this many frames in the actor's mailbox
constexpr std::size_t unhandled_low = 16;  // and resumes at this many
constexpr std::size_t idle_buffer_bytes = 16 * 1024;       // larger buffers are released when idle
constexpr std::size_t idle_queue_events = 64;              // and larger queues
constexpr std::size_t max_control_backlog = 4096;          // control frames waiting to be written
constexpr std::chrono::nanoseconds quiet_for_release = 1s; // no write this long: buffers are given back

} // namespace

websocket_session::websocket_session(net::ip::tcp::socket&& socket, edge_context& ctx, connection_slot slot,
                                     io_worker& worker)
  : socket_(worker.context().get_executor()),
    reader_(ctx.max_frame_bytes),
    ctx_(ctx),
    worker_(worker),
    slot_(std::move(slot)) {
  // The same descriptor, registered again under the smaller socket type.
  sys_error ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  if (!ec)
    socket_.assign(protocol, socket.release(ec), ec);
}

websocket_session::~websocket_session() {
  if (registered_) {
    ctx_.sessions.remove(id_);
  }
}

session_actor websocket_session::actor() const {
  return actor_;
}

void websocket_session::run(http::request<http::string_body> req) {
  // http_session checked the request: a GET upgrade, version 13, with a key.
  auto response = std::make_shared<std::string>(
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: " +
    ws::accept_key(req[http::field::sec_websocket_key]) +
    "\r\n"
    "Server: chatnode/" CHATNODE_VERSION "\r\n\r\n");
  net::async_write(
    socket_, net::buffer(*response),
    [self = shared_from_this(), response](sys_error ec, std::size_t) { self->on_upgraded(ec); });
}

void websocket_session::on_upgraded(sys_error ec) {
  if (ec) {
    log::debug("websocket_accept_failed", {{"error", ec.message()}});
    return;
  }
  sys_error ignored;
  socket_.non_blocking(true, ignored);
  last_heard_ns_ = steady_now_ns();
  id_ = ctx_.next_session_id.fetch_add(1);
  ctx_.sessions.add(id_, weak_from_this());
  registered_ = true;
  ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.connections_total.fetch_add(1, std::memory_order_relaxed);
  worker_.watch(shared_from_this());
  if (ctx_.stopping.load()) {
    // The node began shutting down during the handshake: no new session.
    begin_close(close_code::going_away, "server shutting down");
    return;
  }
  actor_ = ctx_.spawn_session(shared_from_this(), ctx_.node_name + "-" + std::to_string(id_));
  do_read();
}

// -- reading ------------------------------------------------------------------

void websocket_session::do_read() {
  if (waiting_ || closed_.load() || close_heard_)
    return;
  if (reader_.failed()) {
    std::string{}.swap(unread_); // read past the error: never looked at
  } else {
    // What was read before a pause comes first, all of it before any byte
    // read after: taking it may pause reading again, and the actor may
    // resume it before take_bytes returns, leaving the rest held once more.
    while (!unread_.empty()) {
      std::string held;
      held.swap(unread_);
      take_bytes(held.data(), held.size());
      if (read_paused_.load() || reader_.failed() || close_heard_ || closed_.load())
        return;
    }
  }
  waiting_ = true;
  socket_.async_wait(net::socket_base::wait_read,
                     with_op_memory([self = shared_from_this()](sys_error ec) { self->on_readable(ec); }));
}

void websocket_session::on_readable(sys_error ec) {
  waiting_ = false;
  if (ec) {
    on_closed();
    return;
  }
  auto buffer = worker_.read_buffer();
  auto n = socket_.read_some(net::buffer(buffer.data(), buffer.size()), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    do_read();
    return;
  }
  if (ec) {
    log::debug("websocket_closed", {{"session", std::to_string(id_)}, {"reason", ec.message()}});
    drop();
    return;
  }
  last_heard_ns_ = steady_now_ns();
  pinged_ = false;
  ctx_.stats.bytes_in.fetch_add(n, std::memory_order_relaxed);
  if (reader_.failed()) {
    // Our close frame is sent or on its way. What the peer still sends (the
    // rest of an oversized message) is read and dropped until it closes or
    // the close timer fires: hanging up on unread bytes would reset the
    // connection, and a peer still writing (a browser) would then report
    // 1006 instead of our close code.
    do_read();
    return;
  }
  take_bytes(buffer.data(), n);
  if (!read_paused_.load())
    do_read();
}

void websocket_session::take_bytes(const char* data, std::size_t n) {
  auto used =
    reader_.feed(data, n, [this](ws::opcode op, std::string& payload) { return on_message(op, payload); });
  if (reader_.failed()) {
    auto code = reader_.failure_code();
    if (code == close_code::too_big)
      ctx_.stats.count_limit(limit::frame_size);
    else if (code == close_code::invalid_payload)
      ctx_.stats.count_limit(limit::invalid_utf8);
    log::debug("websocket_protocol_error",
               {{"session", std::to_string(id_)}, {"reason", reader_.failure_reason()}});
    begin_close(code, reader_.failure_reason());
    return;
  }
  if (used < n && !close_heard_)
    unread_.append(data + used, n - used);
  if (reader_.between_messages())
    reader_.release();
}

bool websocket_session::on_message(ws::opcode op, std::string& payload) {
  switch (op) {
    case ws::opcode::text:
    case ws::opcode::binary: {
      if (closing_ || !actor_)
        return true; // closing: what still arrives is not handled
      unhandled_.fetch_add(1);
      if (op == ws::opcode::text)
        caf::anon_send(actor_, frame_atom::value, std::move(payload));
      else
        caf::anon_send(actor_, binary_atom::value);
      return !pause_reading();
    }
    case ws::opcode::ping:
      // Pongs wait behind a blocked write up to a bound: a peer that pings
      // without reading gets no more (RFC 6455 lets the last ping alone be
      // answered).
      if (!close_sent_ && (!out_ || out_->control.size() < max_control_backlog)) {
        queue_control(ws::opcode::pong, payload);
        do_write();
      }
      return true;
    case ws::opcode::close:
      close_heard_ = true;
      if (close_sent_) {
        drop(); // our close was answered: the handshake is done
      } else {
        // Answered with the peer's own code, as RFC 6455 (5.5.1) suggests.
        begin_close(ws::close_code_of(payload), "");
      }
      return false;
    default: return true; // a pong: hearing it was all it was for
  }
}

bool websocket_session::pause_reading() {
  if (unhandled_.load() < unhandled_high && pending_.load() < pause_pending())
    return false;
  // Pause; whichever side clears the condition first resumes reading, once.
  read_paused_.store(true);
  return !(may_resume() && read_paused_.exchange(false));
}

// Reading pauses while the actor is behind on this client's frames, or while
// the client is behind on reading its replies: a client that floods requests
// without reading the answers is slowed down, not closed.
std::size_t websocket_session::pause_pending() const {
  return std::max<std::size_t>(ctx_.outbound_queue / 2, 1);
}

bool websocket_session::may_resume() const {
  return unhandled_.load() <= unhandled_low && pending_.load() <= pause_pending() / 2;
}

void websocket_session::resume_if_paused() {
  if (read_paused_.load() && may_resume() && read_paused_.exchange(false))
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_.load())
        self->do_read();
    });
}

void websocket_session::frame_handled() {
  unhandled_.fetch_sub(1);
  resume_if_paused();
}

bool websocket_session::check_idle(std::int64_t now_ns) {
  if (closed_.load())
    return false;
  auto idle = std::chrono::nanoseconds{ctx_.idle_timeout}.count();
  auto quiet = now_ns - last_heard_ns_;
  if (quiet >= idle) {
    // Nothing arrived, not even the pong to the ping half a timeout ago.
    ctx_.stats.count_limit(limit::idle_timeout);
    log::debug("websocket_closed", {{"session", std::to_string(id_)}, {"reason", "idle timeout"}});
    drop();
    return false;
  }
  if (quiet >= idle / 2 && !pinged_ && !close_sent_) {
    pinged_ = true;
    queue_control(ws::opcode::ping, "");
    do_write();
  }
  if (out_ && !write_in_progress_ && out_->queue.empty() && out_->control.empty() &&
      now_ns - last_write_ns_ >= quiet_for_release.count())
    out_.reset(); // a connection that wrote nothing for a while keeps nothing for writing
  return true;
}

void websocket_session::drop() {
  sys_error ignored;
  socket_.shutdown(net::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  on_closed();
}

void websocket_session::on_closed() {
  if (closed_.exchange(true))
    return;
  if (close_timer_)
    close_timer_->cancel();
  ctx_.stats.connections.fetch_sub(1, std::memory_order_relaxed);
  if (actor_)
    caf::anon_send(actor_, closed_atom::value);
  actor_ = session_actor{};
  drop_queued();
  std::string{}.swap(unread_);
  if (registered_) {
    ctx_.sessions.remove(id_);
    registered_ = false;
  }
}

// -- writing ------------------------------------------------------------------

void websocket_session::send(frame_ptr frame, std::int64_t received_ns) {
  if (closed_.load(std::memory_order_relaxed) || overflowed_.load(std::memory_order_relaxed))
    return;
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= ctx_.outbound_queue) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    if (!overflowed_.exchange(true)) {
      ctx_.stats.slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
      ctx_.stats.count_limit(limit::outbound_queue);
      close(close_code::try_again_later, "outbound queue full: read faster, then reconnect with since");
    }
    return;
  }
  worker_.deliver(shared_from_this(), std::move(frame), received_ns);
}

void websocket_session::take(frame_ptr frame, std::int64_t received_ns) {
  if (closing_ || closed_.load(std::memory_order_relaxed)) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  writes();
  if (out_->head > 0 && out_->head >= out_->queue.size() / 2) {
    out_->queue.erase(out_->queue.begin(), out_->queue.begin() + static_cast<std::ptrdiff_t>(out_->head));
    out_->head = 0;
  }
  out_->queue.push_back({std::move(frame), received_ns});
}

void websocket_session::flush() {
  if (write_in_progress_ || deferred_ || !out_ || out_->head == out_->queue.size())
    return;
  // Wrote a moment ago: more is likely on its way, so wait until the interval
  // since the last write is over and send it all in one write.
  auto coalesce = worker_.coalesce().count();
  if (coalesce > 0 && steady_now_ns() - last_write_ns_ < coalesce) {
    deferred_ = true;
    worker_.defer(shared_from_this(), last_write_ns_ + coalesce);
    return;
  }
  do_write();
}

websocket_session::write_state& websocket_session::writes() {
  if (!out_)
    out_ = std::make_unique<write_state>();
  return *out_;
}

void websocket_session::drop_queued() {
  if (!out_)
    return;
  pending_.fetch_sub(out_->queue.size() - out_->head, std::memory_order_relaxed);
  out_->queue.clear();
  out_->head = 0;
}

void websocket_session::flush_deferred() {
  deferred_ = false;
  do_write();
}

void websocket_session::queue_control(ws::opcode op, std::string_view payload) {
  unsigned char header[ws::max_header_bytes];
  auto n = ws::write_header(header, op, payload.size());
  auto& out = writes();
  out.control.append(reinterpret_cast<const char*>(header), n);
  out.control.append(payload);
}

void websocket_session::do_write() {
  if (write_in_progress_ || closed_.load() || !out_)
    return;
  // Data waits while coalescing defers it, and stops once closing.
  bool data = !closing_ && !deferred_ && out_->head < out_->queue.size();
  if (!data && out_->control.empty())
    return;
  std::array<net::const_buffer, 3> buffers{};
  out_->control_writing.swap(out_->control);
  buffers[0] = net::buffer(out_->control_writing);
  if (data) {
    out_->writing.clear();
    std::size_t bytes = 0;
    while (out_->head < out_->queue.size() && out_->writing.size() < max_batch_events &&
           (out_->writing.empty() || bytes + out_->queue[out_->head].frame->size() <= max_batch_bytes)) {
      bytes += out_->queue[out_->head].frame->size();
      out_->writing.push_back(std::move(out_->queue[out_->head++]));
    }
    if (out_->head == out_->queue.size()) {
      out_->queue.clear();
      out_->head = 0;
    }
    // One event is written straight from the shared encoded bytes. Several
    // become one JSON array frame, copied into one buffer: a memcpy of small
    // events costs less than a long scatter-gather list through TCP.
    net::const_buffer payload;
    if (out_->writing.size() == 1) {
      payload = net::buffer(*out_->writing.front().frame);
    } else {
      out_->batch.clear();
      out_->batch.reserve(bytes + out_->writing.size() + 1);
      out_->batch += '[';
      for (std::size_t i = 0; i < out_->writing.size(); ++i) {
        if (i > 0)
          out_->batch += ',';
        out_->batch += *out_->writing[i].frame;
      }
      out_->batch += ']';
      payload = net::buffer(out_->batch);
    }
    buffers[1] = net::buffer(out_->header, ws::write_header(out_->header, ws::opcode::text, payload.size()));
    buffers[2] = payload;
    last_write_ns_ = steady_now_ns();
  }
  write_in_progress_ = true;
  net::async_write(socket_, buffers, with_op_memory([self = shared_from_this()](sys_error ec, std::size_t n) {
                     self->on_write(ec, n);
                   }));
}

void websocket_session::on_write(sys_error ec, std::size_t bytes) {
  write_in_progress_ = false;
  out_->control_writing.clear();
  auto events = out_->writing.size();
  pending_.fetch_sub(events, std::memory_order_relaxed);
  // One sample per write: the oldest live message in it, from its arrival
  // from the bus to its bytes handed to the socket.
  if (!ec)
    for (const auto& e : out_->writing)
      if (e.received_ns != 0) {
        ctx_.stats.fanout_latency.observe(static_cast<double>(steady_now_ns() - e.received_ns) / 1e9);
        break;
      }
  out_->writing.clear();
  if (ec) {
    drop(); // which forgets what was queued
    return;
  }
  ctx_.stats.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  if (events > 0) {
    ctx_.stats.messages_out.fetch_add(events, std::memory_order_relaxed);
    ctx_.stats.frames_out.fetch_add(1, std::memory_order_relaxed);
  }
  resume_if_paused();
  if (close_sent_ && out_->control.empty()) {
    // Our close frame is out: done if the peer's came. After a protocol
    // error our side ends here (FIN) while reading goes on until the peer
    // hangs up; else its close (or the close timer) ends the connection.
    if (close_heard_) {
      drop();
    } else if (reader_.failed()) {
      sys_error ignored;
      socket_.shutdown(net::socket_base::shutdown_send, ignored);
    }
    return;
  }
  if (!out_->control.empty()) {
    do_write();
    return;
  }
  if (out_->queue.empty())
    release_idle_buffers(events, bytes);
  flush();
}

void websocket_session::release_idle_buffers(std::size_t last_events, std::size_t last_bytes) {
  // A connection that has calmed down (its last write was small) keeps no
  // buffer sized for its largest burst; one in a busy room keeps its buffers
  // instead of allocating them anew for every write.
  if (out_->batch.capacity() > idle_buffer_bytes && last_bytes <= idle_buffer_bytes / 4)
    std::string{}.swap(out_->batch);
  if (last_events > idle_queue_events / 4)
    return;
  if (out_->queue.capacity() > idle_queue_events)
    std::vector<outbound>{}.swap(out_->queue);
  if (out_->writing.capacity() > idle_queue_events)
    std::vector<outbound>{}.swap(out_->writing);
}

// -- closing ------------------------------------------------------------------

void websocket_session::close(std::uint16_t code, std::string reason) {
  net::post(socket_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    self->begin_close(code, std::move(reason));
  });
}

void websocket_session::begin_close(std::uint16_t code, std::string reason) {
  if (closing_ || closed_.load())
    return;
  closing_ = true;
  // What is queued but not yet written is dropped: the client resumes with
  // `since` after it reconnects.
  drop_queued();
  close_timer_ = std::make_unique<net::steady_timer>(socket_.get_executor());
  close_timer_->expires_after(close_timeout);
  close_timer_->async_wait([self = shared_from_this()](sys_error ec) {
    if (!ec && !self->closed_.load())
      self->drop();
  });
  close_sent_ = true;
  queue_control(ws::opcode::close, ws::close_payload(code, reason));
  do_write();
  // Reading goes on, paused or not, to hear the peer's close.
  read_paused_.store(false);
  do_read();
}

} // namespace chatnode

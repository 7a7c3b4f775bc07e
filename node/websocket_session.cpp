#include "node/websocket_session.hpp"

#include "actors/messages.hpp"
#include "actors/protocol.hpp"
#include "node/edge_stats.hpp"
#include "node/log.hpp"
#include "node/op_memory.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>

#include <caf/send.hpp>

#include <chrono>

namespace chatnode {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_batch_events = 256;
constexpr std::size_t max_batch_bytes = 256 * 1024;
constexpr auto close_timeout = 5s;         // a peer that never reads is cut off after this
constexpr auto handshake_timeout = 30s;    // for the upgrade response and the closing handshake
constexpr std::size_t unhandled_high = 64; // reading pauses at this many frames in the actor's mailbox
constexpr std::size_t unhandled_low = 16;  // and resumes at this many
constexpr std::size_t idle_buffer_bytes = 16 * 1024; // larger buffers are released when idle
constexpr std::size_t idle_queue_events = 64;        // and larger queues

} // namespace

websocket_session::websocket_session(net::ip::tcp::socket&& socket, edge_context& ctx, connection_slot slot,
                                     io_worker& worker)
  : ws_(std::move(socket)),
    ctx_(ctx),
    worker_(worker),
    slot_(std::move(slot)) {}

websocket_session::~websocket_session() {
  if (registered_) {
    ctx_.sessions.remove(id_);
  }
}

session_actor websocket_session::actor() const {
  return actor_;
}

void websocket_session::run(beast::http::request<beast::http::string_body> req) {
  // A silent peer gets a ping halfway through the idle timeout and is
  // closed when nothing, not even the pong, arrives by its end.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = handshake_timeout;
  timeouts.idle_timeout = ctx_.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "chatnode/" CHATNODE_VERSION);
  }));
  ws_.read_message_max(ctx_.max_frame_bytes);
  ws_.auto_fragment(false);
  ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec) {
    log::debug("websocket_accept_failed", {{"error", ec.message()}});
    return;
  }
  if (ctx_.stopping.load()) {
    // The node began shutting down during the handshake: no new session.
    ws_.async_close(websocket::close_reason{static_cast<websocket::close_code>(close_code::going_away),
                                            "server shutting down"},
                    [self = shared_from_this()](beast::error_code) {});
    return;
  }
  id_ = ctx_.next_session_id.fetch_add(1);
  ctx_.sessions.add(id_, weak_from_this());
  registered_ = true;
  ctx_.stats.connections.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.connections_total.fetch_add(1, std::memory_order_relaxed);
  actor_ = ctx_.spawn_session(shared_from_this(), ctx_.node_name + "-" + std::to_string(id_));
  do_read();
}

// -- reading ------------------------------------------------------------------

void websocket_session::do_read() {
  ws_.async_read(buffer_, with_op_memory([self = shared_from_this()](beast::error_code ec, std::size_t n) {
                   self->on_read(ec, n);
                 }));
}

void websocket_session::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    // Beast has already answered protocol violations with their close code
    // (1009 for a frame over the limit, 1007 for invalid UTF-8).
    if (ec == websocket::error::message_too_big)
      ctx_.stats.count_limit(limit::frame_size);
    else if (ec == websocket::error::bad_frame_payload)
      ctx_.stats.count_limit(limit::invalid_utf8);
    else if (ec == beast::error::timeout ||
             (ec == net::error::operation_aborted && !closing_ && !ctx_.stopping.load()))
      // Beast's idle timer: nothing arrived, not even the pong to its ping
      // (a read waiting to write a pong behind a blocked write ends aborted).
      ctx_.stats.count_limit(limit::idle_timeout);
    log::debug("websocket_closed", {{"session", std::to_string(id_)}, {"reason", ec.message()}});
    on_closed();
    return;
  }
  ctx_.stats.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  auto unhandled = unhandled_.fetch_add(1) + 1;
  if (ws_.got_text())
    caf::anon_send(actor_, frame_atom::value, beast::buffers_to_string(buffer_.data()));
  else
    caf::anon_send(actor_, binary_atom::value);
  buffer_.release();
  if (unhandled >= unhandled_high || pending_.load() >= pause_pending()) {
    // Pause; whichever side clears the condition first resumes reading, once.
    read_paused_.store(true);
    if (!may_resume() || !read_paused_.exchange(false))
      return;
  }
  do_read();
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
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_.load())
        self->do_read();
    });
}

void websocket_session::frame_handled() {
  unhandled_.fetch_sub(1);
  resume_if_paused();
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
  pending_.fetch_sub(queue_.size() - queue_head_, std::memory_order_relaxed);
  queue_.clear();
  queue_head_ = 0;
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
  if (queue_head_ > 0 && queue_head_ >= queue_.size() / 2) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
    queue_head_ = 0;
  }
  queue_.push_back({std::move(frame), received_ns});
}

void websocket_session::flush() {
  if (write_in_progress_ || deferred_ || queue_head_ == queue_.size())
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

void websocket_session::flush_deferred() {
  deferred_ = false;
  if (!write_in_progress_)
    do_write();
}

void websocket_session::do_write() {
  if (queue_head_ == queue_.size())
    return;
  writing_.clear();
  std::size_t bytes = 0;
  while (queue_head_ < queue_.size() && writing_.size() < max_batch_events &&
         (writing_.empty() || bytes + queue_[queue_head_].frame->size() <= max_batch_bytes)) {
    bytes += queue_[queue_head_].frame->size();
    writing_.push_back(std::move(queue_[queue_head_++]));
  }
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
  }
  // One event is written straight from the shared encoded bytes. Several
  // become one JSON array frame, copied into one buffer: a memcpy of small
  // events costs less than walking a long scatter-gather list through the
  // WebSocket and TCP layers (which copy the list itself on every write).
  net::const_buffer frame;
  if (writing_.size() == 1) {
    frame = net::buffer(*writing_.front().frame);
  } else {
    batch_.clear();
    batch_.reserve(bytes + writing_.size() + 1);
    batch_ += '[';
    for (std::size_t i = 0; i < writing_.size(); ++i) {
      if (i > 0)
        batch_ += ',';
      batch_ += *writing_[i].frame;
    }
    batch_ += ']';
    frame = net::buffer(batch_);
  }
  write_in_progress_ = true;
  last_write_ns_ = steady_now_ns();
  ws_.text(true);
  ws_.async_write(frame, with_op_memory([self = shared_from_this()](beast::error_code ec, std::size_t n) {
                    self->on_write(ec, n);
                  }));
}

void websocket_session::on_write(beast::error_code ec, std::size_t bytes) {
  write_in_progress_ = false;
  auto events = writing_.size();
  pending_.fetch_sub(events, std::memory_order_relaxed);
  // One sample per write: the oldest live message in it, from its arrival
  // from the bus to its bytes handed to the socket.
  if (!ec)
    for (const auto& e : writing_)
      if (e.received_ns != 0) {
        ctx_.stats.fanout_latency.observe(static_cast<double>(steady_now_ns() - e.received_ns) / 1e9);
        break;
      }
  writing_.clear();
  if (ec) {
    pending_.fetch_sub(queue_.size() - queue_head_, std::memory_order_relaxed);
    queue_.clear();
    queue_head_ = 0;
    return; // the read side sees the failure too and cleans up
  }
  ctx_.stats.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  ctx_.stats.messages_out.fetch_add(events, std::memory_order_relaxed);
  ctx_.stats.frames_out.fetch_add(1, std::memory_order_relaxed);
  resume_if_paused();
  if (closing_) {
    do_close();
    return;
  }
  if (queue_.empty())
    release_idle_buffers(events, bytes);
  flush();
}

void websocket_session::release_idle_buffers(std::size_t last_events, std::size_t last_bytes) {
  // A connection that has calmed down (its last write was small) keeps no
  // buffer sized for its largest burst; one in a busy room keeps its buffers
  // instead of allocating them anew for every write.
  if (batch_.capacity() > idle_buffer_bytes && last_bytes <= idle_buffer_bytes / 4)
    std::string{}.swap(batch_);
  if (last_events > idle_queue_events / 4)
    return;
  if (queue_.capacity() > idle_queue_events)
    std::vector<outbound>{}.swap(queue_);
  if (writing_.capacity() > idle_queue_events)
    std::vector<outbound>{}.swap(writing_);
}

// -- closing ------------------------------------------------------------------

void websocket_session::close(std::uint16_t code, std::string reason) {
  net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    self->begin_close(code, std::move(reason));
  });
}

void websocket_session::begin_close(std::uint16_t code, std::string reason) {
  if (closing_ || closed_.load())
    return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  // What is queued but not yet written is dropped: the client resumes with
  // `since` after it reconnects.
  pending_.fetch_sub(queue_.size() - queue_head_, std::memory_order_relaxed);
  queue_.clear();
  queue_head_ = 0;
  close_timer_ = std::make_unique<net::steady_timer>(ws_.get_executor());
  close_timer_->expires_after(close_timeout);
  close_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->closed_.load()) {
      beast::error_code ignored;
      self->ws_.next_layer().close(ignored);
    }
  });
  if (!write_in_progress_)
    do_close();
}

void websocket_session::do_close() {
  if (close_sent_)
    return;
  close_sent_ = true;
  websocket::close_reason why{static_cast<websocket::close_code>(close_code_), close_reason_};
  ws_.async_close(why, [self = shared_from_this()](beast::error_code) {
    // The pending read completes with an error next and cleans up.
  });
}

} // namespace chatnode

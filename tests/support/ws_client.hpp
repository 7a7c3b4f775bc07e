// Synchronous WebSocket and HTTP test clients for the chatnode integration tests.
//
// Every operation takes a deadline, so no test can hang on a silent server: the
// clients run Beast's asynchronous operations on a private io_context and only
// drive that io_context until the deadline passes.
//
// Not thread-safe: use one ws_client from one thread at a time (several clients may
// live on several threads; each owns its own io_context).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace chatnode::testing {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using time_point = steady::time_point;
using header_list = std::vector<std::pair<std::string, std::string>>;

inline time_point after(steady::duration d) {
  return steady::now() + d;
}

// ---------------------------------------------------------------------------------------
// Plain HTTP
// ---------------------------------------------------------------------------------------

struct http_response {
  int status = 0;      // 0: no response at all (connect/read failure or timeout), see `error`
  std::string error;   // transport error, if any
  header_list headers; // as received, in order
  std::string body;

  // First value of a header, compared case-insensitively; "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Sends `GET <target> HTTP/1.1` with the target written byte for byte as given: no
// normalisation, no percent-decoding, no escaping (so `/../etc/passwd` reaches the server
// as is). Adds Host and `Connection: close` unless `headers` names them.
http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       const header_list& headers = {}, steady::duration timeout = std::chrono::seconds(5));

// Writes `request` to a fresh connection verbatim and reads one HTTP response.
http_response http_raw(const std::string& host, std::uint16_t port, std::string_view request,
                       steady::duration timeout = std::chrono::seconds(5));

// ---------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------

struct connect_options {
  std::string target = "/ws";
  // Plain strings rather than std::optional: GCC 12 reports false maybe-uninitialized
  // warnings for copies of optional<string> under -O2 with sanitizers.
  std::string origin;                                 // Origin header; not sent when empty
  std::string host_header;                            // Host header; "host:port" when empty
  header_list headers;                                // extra request headers
  int receive_buffer = 0;                             // SO_RCVBUF set before connect() when > 0
  steady::duration timeout = std::chrono::seconds(5); // TCP connect + upgrade
};

using event_predicate = std::function<bool(const json&)>;

// Close code reported when the TCP connection ended without a WebSocket close frame
// (RFC 6455 section 7.1.5 calls this 1006).
inline constexpr int kAbnormalClose = 1006;

class ws_client {
public:
  ws_client();
  ~ws_client(); // drops the TCP connection without a close handshake
  ws_client(ws_client&&) noexcept;
  ws_client& operator=(ws_client&&) noexcept;
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Opens TCP and performs the WebSocket upgrade. Returns 101 when the upgrade succeeded,
  // the HTTP status of the server's answer when it declined the upgrade (e.g. 403), or 0 on
  // a transport error or timeout (see last_error()).
  int connect(const std::string& host, std::uint16_t port, const connect_options& opts = {});

  bool is_open() const;
  const std::string& last_error() const;
  // The HTTP answer to the upgrade request (status, headers, body when declined).
  const http_response& handshake_response() const;

  // Each send writes exactly one frame (auto-fragmentation is off). They return false
  // (and set last_error()) when the connection is closed, the write fails, or the deadline
  // passes; a timed-out write drops the connection. A default deadline is 5 s from now.
  bool send_text(std::string_view text, std::optional<time_point> deadline = {});
  bool send_json(const json& event, std::optional<time_point> deadline = {});
  bool send_binary(std::string_view data, std::optional<time_point> deadline = {});
  // Writes bytes straight to the TCP socket, bypassing the WebSocket framing (build the
  // frame yourself, e.g. with make_frame()).
  bool send_raw(std::string_view bytes, std::optional<time_point> deadline = {});
  // A complete masked client frame: FIN bit as given, opcode (1 text, 2 binary, 8 close...).
  static std::string make_frame(std::uint8_t opcode, std::string_view payload, bool fin = true);

  // Next event from the node, in arrival order. A frame holding a JSON array yields its
  // elements one by one; a frame that is not JSON yields
  // {"type":"__unparseable__","raw":<text>}. Returns nullopt when the deadline passes or
  // the connection is closed and the queue is empty.
  std::optional<json> next_event(time_point deadline);

  // First queued or arriving event for which `pred` holds. Events that do not match are
  // KEPT in the queue, in order, for later next_event()/wait_for() calls.
  std::optional<json> wait_for(const event_predicate& pred, time_point deadline);
  // Like wait_for(), but events that do not match are DISCARDED.
  std::optional<json> skip_until(const event_predicate& pred, time_point deadline);

  // Handles whatever has already arrived, without blocking.
  void poll();
  // Removes and returns every queued event.
  std::vector<json> take_all();
  std::size_t queued() const;
  // Number of frames (not events) read so far.
  std::uint64_t frames_received() const;

  // Reads until the node closes the connection and returns the close code; kAbnormalClose
  // (1006) if the connection ended without a close frame; nullopt if still open at the
  // deadline. Events read meanwhile are queued when keep_events, else discarded (events
  // queued before the call stay queued either way).
  std::optional<int> expect_close(time_point deadline, bool keep_events = true);
  // The close code once the connection has been closed (as in expect_close()).
  std::optional<int> close_code() const;
  std::string close_reason() const;

  // Client-initiated close handshake; returns true when it completed before the deadline.
  bool close(int code = 1000, std::optional<time_point> deadline = {});
  // Drops the TCP connection at once.
  void abort();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Event predicates
// ---------------------------------------------------------------------------------------

event_predicate is_type(std::string type);
event_predicate is_type_in_room(std::string type, std::string room);
event_predicate is_error(std::string code);
// A `message` event with this cid.
event_predicate is_message_with_cid(std::string cid);

} // namespace chatnode::testing

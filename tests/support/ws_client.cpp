#include "ws_client.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace chatnode::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

namespace {

constexpr auto kDefaultIo = std::chrono::seconds(5);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Runs `ioc` until `done()` holds or the deadline passes; true when done.
template <class Done>
bool run_until(net::io_context& ioc, Done done, time_point deadline) {
  while (!done()) {
    if (steady::now() >= deadline)
      return false;
    if (ioc.stopped())
      ioc.restart();
    std::size_t n = ioc.run_one_until(deadline);
    if (n == 0 && ioc.stopped() && !done()) {
      // Ran out of work (nothing pending) or hit the deadline: either way, done() can no
      // longer become true before the deadline unless work is pending.
      if (steady::now() < deadline)
        return false;
    }
  }
  return true;
}

tcp::endpoint resolve(net::io_context& ioc, const std::string& host, std::uint16_t port) {
  error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (!ec)
    return {addr, port};
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
  return *results.begin();
}

template <class Fields>
header_list copy_headers(const Fields& fields) {
  header_list out;
  for (const auto& f : fields)
    out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

} // namespace

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name))
      return v;
  return {};
}

bool http_response::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

http_response http_raw(const std::string& host, std::uint16_t port, std::string_view request,
                       steady::duration timeout) {
  http_response out;
  const time_point deadline = after(timeout);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);
  std::string req(request);
  bool done = false;

  try {
    auto ep = resolve(ioc, host, port);
    stream.expires_at(deadline);
    stream.async_connect(ep, [&](error_code ec) {
      if (ec) {
        out.error = "connect: " + ec.message();
        done = true;
        return;
      }
      net::async_write(stream.socket(), net::buffer(req), [&](error_code ec, std::size_t) {
        if (ec) {
          out.error = "write: " + ec.message();
          done = true;
          return;
        }
        http::async_read(stream, buffer, parser, [&](error_code ec, std::size_t) {
          if (ec)
            out.error = "read: " + ec.message();
          done = true;
        });
      });
    });
    if (!run_until(
          ioc, [&] { return done; }, deadline + std::chrono::milliseconds(200)))
      out.error = "timeout";
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  if (parser.is_header_done()) {
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.headers = copy_headers(res.base());
    out.body = res.body();
  }
  return out;
}

http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       const header_list& headers, steady::duration timeout) {
  std::string req = "GET " + target + " HTTP/1.1\r\n";
  bool has_host = false, has_connection = false;
  for (const auto& [k, v] : headers) {
    has_host = has_host || iequals(k, "host");
    has_connection = has_connection || iequals(k, "connection");
    req += k + ": " + v + "\r\n";
  }
  if (!has_host)
    req += "Host: " + host + ":" + std::to_string(port) + "\r\n";
  if (!has_connection)
    req += "Connection: close\r\n";
  req += "User-Agent: chatnode-integration-test\r\n\r\n";
  return http_raw(host, port, req, timeout);
}

// ---------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------

struct ws_client::impl {
  net::io_context ioc;
  std::optional<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer rbuf;
  std::deque<json> queue;
  bool open = false;
  bool reading = false;
  std::optional<int> close_code;
  std::string close_reason;
  std::string last_error;
  http_response handshake;
  std::uint64_t frames = 0;

  ~impl() { drop(); }

  void drop() {
    if (ws) {
      error_code ignored;
      beast::get_lowest_layer(*ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(*ws).socket().close(ignored);
    }
    if (open && !close_code)
      close_code = kAbnormalClose;
    open = false;
  }

  void start_read() {
    if (!open || reading)
      return;
    reading = true;
    ws->async_read(rbuf, [this](error_code ec, std::size_t) {
      reading = false;
      on_read(ec);
    });
  }

  void on_read(error_code ec) {
    if (ec) {
      if (!close_code) {
        // A close frame was received (ws->reason() is set as it arrives), even if the
        // reply to it could not be written because the node had already hung up.
        if (ec == websocket::error::closed || ws->reason().code != websocket::close_code::none) {
          close_code = static_cast<int>(ws->reason().code);
          close_reason = std::string(ws->reason().reason.data(), ws->reason().reason.size());
          if (ec != websocket::error::closed)
            last_error = "read after the close frame: " + ec.message();
        } else {
          close_code = kAbnormalClose;
          last_error = "read: " + ec.message();
        }
      }
      open = false;
      return;
    }
    ++frames;
    std::string text = beast::buffers_to_string(rbuf.data());
    rbuf.consume(rbuf.size());
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      queue.push_back(json{{"type", "__unparseable__"}, {"raw", text}});
    } else if (parsed.is_array()) {
      for (auto& e : parsed)
        queue.push_back(std::move(e));
    } else {
      queue.push_back(std::move(parsed));
    }
    start_read();
  }

  bool write(bool text, std::string_view data, time_point deadline) {
    if (!open) {
      last_error = "write on a closed connection";
      return false;
    }
    bool done = false;
    error_code wec;
    ws->text(text);
    ws->async_write(net::buffer(data.data(), data.size()), [&](error_code ec, std::size_t) {
      wec = ec;
      done = true;
    });
    if (!run_until(
          ioc, [&] { return done; }, deadline)) {
      last_error = "write timed out";
      drop();
      // The cancelled write still holds references to this frame: let it finish.
      run_until(
        ioc, [&] { return done; }, after(std::chrono::seconds(1)));
      return false;
    }
    if (wec) {
      last_error = "write: " + wec.message();
      return false;
    }
    return true;
  }

  // Drives I/O until something is queued, the connection is closed, or the deadline.
  void fill(time_point deadline) {
    start_read();
    run_until(
      ioc, [&] { return !queue.empty() || !open; }, deadline);
  }
};

ws_client::ws_client()
  : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() = default;
ws_client::ws_client(ws_client&&) noexcept = default;
ws_client& ws_client::operator=(ws_client&&) noexcept = default;

int ws_client::connect(const std::string& host, std::uint16_t port, const connect_options& opts) {
  auto& d = *impl_;
  d.drop();
  d.ws.reset();
  d.queue.clear();
  d.rbuf.clear();
  d.close_code.reset();
  d.close_reason.clear();
  d.last_error.clear();
  d.handshake = {};
  d.frames = 0;
  d.reading = false;
  d.ioc.restart();

  const time_point deadline = after(opts.timeout);
  d.ws.emplace(d.ioc);
  auto& ws = *d.ws;
  auto& sock = beast::get_lowest_layer(ws).socket();
  tcp::endpoint ep;
  try {
    ep = resolve(d.ioc, host, port);
  } catch (const std::exception& e) {
    d.last_error = e.what();
    return 0;
  }
  error_code ec;
  sock.open(ep.protocol(), ec);
  if (!ec && opts.receive_buffer > 0)
    sock.set_option(net::socket_base::receive_buffer_size(opts.receive_buffer), ec);
  if (ec) {
    d.last_error = "socket: " + ec.message();
    return 0;
  }

  const std::string host_header =
    opts.host_header.empty() ? host + ":" + std::to_string(port) : opts.host_header;
  ws.set_option(websocket::stream_base::decorator([opts](websocket::request_type& req) {
    req.set(http::field::user_agent, "chatnode-integration-test");
    if (!opts.origin.empty())
      req.set(http::field::origin, opts.origin);
    for (const auto& [k, v] : opts.headers)
      req.set(k, v);
  }));
  ws.auto_fragment(false);
  ws.read_message_max(64 * 1024 * 1024);

  websocket::response_type res;
  bool done = false;
  error_code result;
  beast::get_lowest_layer(ws).expires_at(deadline);
  beast::get_lowest_layer(ws).async_connect(ep, [&](error_code ec) {
    if (ec) {
      result = ec;
      d.last_error = "connect: " + ec.message();
      done = true;
      return;
    }
    ws.async_handshake(res, host_header, opts.target, [&](error_code ec) {
      result = ec;
      if (ec)
        d.last_error = "handshake: " + ec.message();
      done = true;
    });
  });
  if (!run_until(
        d.ioc, [&] { return done; }, deadline + std::chrono::milliseconds(200))) {
    d.last_error = "connect/upgrade timed out";
    error_code ignored;
    sock.close(ignored);
    run_until(
      d.ioc, [&] { return done; }, after(std::chrono::seconds(1)));
    return 0;
  }
  beast::get_lowest_layer(ws).expires_never();
  d.handshake.status = static_cast<int>(res.result_int());
  d.handshake.headers = copy_headers(res.base());
  d.handshake.body = res.body();
  if (result) {
    d.handshake.error = d.last_error;
    return result == websocket::error::upgrade_declined ? d.handshake.status : 0;
  }
  d.open = true;
  d.start_read();
  return 101;
}

bool ws_client::is_open() const {
  return impl_->open;
}
const std::string& ws_client::last_error() const {
  return impl_->last_error;
}
const http_response& ws_client::handshake_response() const {
  return impl_->handshake;
}

bool ws_client::send_text(std::string_view text, std::optional<time_point> deadline) {
  return impl_->write(true, text, deadline.value_or(after(kDefaultIo)));
}

bool ws_client::send_json(const json& event, std::optional<time_point> deadline) {
  return send_text(event.dump(), deadline);
}

bool ws_client::send_binary(std::string_view data, std::optional<time_point> deadline) {
  return impl_->write(false, data, deadline.value_or(after(kDefaultIo)));
}

bool ws_client::send_raw(std::string_view bytes, std::optional<time_point> deadline) {
  auto& d = *impl_;
  if (!d.open) {
    d.last_error = "write on a closed connection";
    return false;
  }
  bool done = false;
  error_code wec;
  net::async_write(beast::get_lowest_layer(*d.ws).socket(), net::buffer(bytes.data(), bytes.size()),
                   [&](error_code ec, std::size_t) {
                     wec = ec;
                     done = true;
                   });
  if (!run_until(
        d.ioc, [&] { return done; }, deadline.value_or(after(kDefaultIo)))) {
    d.last_error = "raw write timed out";
    d.drop();
    run_until(
      d.ioc, [&] { return done; }, after(std::chrono::seconds(1)));
    return false;
  }
  if (wec) {
    d.last_error = "raw write: " + wec.message();
    return false;
  }
  return true;
}

std::string ws_client::make_frame(std::uint8_t opcode, std::string_view payload, bool fin) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>((n >> 8) & 0xff));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (unsigned char m : mask)
    f.push_back(static_cast<char>(m));
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i % 4]));
  return f;
}

std::optional<json> ws_client::next_event(time_point deadline) {
  auto& d = *impl_;
  if (d.queue.empty())
    d.fill(deadline);
  if (d.queue.empty())
    return std::nullopt;
  json e = std::move(d.queue.front());
  d.queue.pop_front();
  return e;
}

std::optional<json> ws_client::wait_for(const event_predicate& pred, time_point deadline) {
  auto& d = *impl_;
  std::size_t checked = 0; // queue entries already known not to match
  for (;;) {
    for (; checked < d.queue.size(); ++checked) {
      if (pred(d.queue[checked])) {
        json e = std::move(d.queue[checked]);
        d.queue.erase(d.queue.begin() + static_cast<std::ptrdiff_t>(checked));
        return e;
      }
    }
    if (!d.open || steady::now() >= deadline)
      return std::nullopt;
    d.start_read();
    const std::size_t before = d.queue.size();
    run_until(
      d.ioc, [&] { return d.queue.size() > before || !d.open; }, deadline);
  }
}

std::optional<json> ws_client::skip_until(const event_predicate& pred, time_point deadline) {
  for (;;) {
    auto e = next_event(deadline);
    if (!e)
      return std::nullopt;
    if (pred(*e))
      return e;
  }
}

void ws_client::poll() {
  auto& d = *impl_;
  d.start_read();
  if (d.ioc.stopped())
    d.ioc.restart();
  d.ioc.poll();
}

std::vector<json> ws_client::take_all() {
  auto& d = *impl_;
  std::vector<json> out(std::make_move_iterator(d.queue.begin()), std::make_move_iterator(d.queue.end()));
  d.queue.clear();
  return out;
}

std::size_t ws_client::queued() const {
  return impl_->queue.size();
}
std::uint64_t ws_client::frames_received() const {
  return impl_->frames;
}

std::optional<int> ws_client::expect_close(time_point deadline, bool keep_events) {
  auto& d = *impl_;
  const std::size_t kept = d.queue.size();
  while (d.open && steady::now() < deadline) {
    d.start_read();
    const std::size_t before = d.queue.size();
    run_until(
      d.ioc, [&] { return d.queue.size() > before || !d.open; }, deadline);
    if (!keep_events)
      d.queue.resize(kept);
  }
  if (d.open)
    return std::nullopt;
  return d.close_code;
}

std::optional<int> ws_client::close_code() const {
  return impl_->open ? std::nullopt : impl_->close_code;
}

std::string ws_client::close_reason() const {
  return impl_->close_reason;
}

bool ws_client::close(int code, std::optional<time_point> deadline) {
  auto& d = *impl_;
  if (!d.open)
    return false;
  bool done = false;
  error_code cec;
  d.ws->async_close(websocket::close_reason(static_cast<std::uint16_t>(code)), [&](error_code ec) {
    cec = ec;
    done = true;
  });
  const time_point dl = deadline.value_or(after(kDefaultIo));
  // A pending read sees the close too; wait for both.
  bool ok = run_until(
    d.ioc, [&] { return done && !d.reading; }, dl);
  if (!ok || cec) {
    d.last_error = ok ? "close: " + cec.message() : "close timed out";
    d.drop();
    run_until(
      d.ioc, [&] { return done && !d.reading; }, after(std::chrono::seconds(1)));
    return false;
  }
  d.open = false;
  if (!d.close_code)
    d.close_code = code;
  return true;
}

void ws_client::abort() {
  impl_->drop();
}

// ---------------------------------------------------------------------------------------
// Predicates
// ---------------------------------------------------------------------------------------

namespace {
std::string str_field(const json& e, const char* key) {
  if (!e.is_object())
    return {};
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}
} // namespace

event_predicate is_type(std::string type) {
  return [type = std::move(type)](const json& e) { return str_field(e, "type") == type; };
}

event_predicate is_type_in_room(std::string type, std::string room) {
  return [type = std::move(type), room = std::move(room)](const json& e) {
    return str_field(e, "type") == type && str_field(e, "room") == room;
  };
}

event_predicate is_error(std::string code) {
  return [code = std::move(code)](const json& e) {
    return str_field(e, "type") == "error" && str_field(e, "code") == code;
  };
}

event_predicate is_message_with_cid(std::string cid) {
  return [cid = std::move(cid)](const json& e) {
    return str_field(e, "type") == "message" && str_field(e, "cid") == cid;
  };
}

} // namespace chatnode::testing

// Fuzzes the WebSocket frame reader against Boost.Beast's websocket stream
// (server role, over Beast's test stream) as the oracle: the same client bytes
// must give the same events (data messages, pings, pongs and the peer's close,
// in order) and the same verdict (clean, or the close code sent: 1002, 1007,
// 1009). The first byte sets how many bytes each read returns, on both sides.
//
// Where the two may differ, each difference is normalised in `agree` below:
// 1. Beast checks a header only once all of it (and a control frame's whole
//    payload) has arrived; chatnode checks the first two bytes at once. When
//    the input ends inside such a frame chatnode fails and Beast sees the end
//    of the input: Beast is asked again with zero bytes after the input, enough
//    to complete any header and control frame, and must then agree.
// 2. Beast checks a text message's UTF-8 as it arrives; chatnode checks the
//    whole message. When Beast sends 1007 before the message ends, chatnode
//    reads on: it may report control frames that come between the message's
//    fragments, and it stops inside that message (for want of input, a
//    violation or a close) or fails it with 1007 at its end.
// 3. A close reason that is not UTF-8: Beast sends 1002, chatnode 1007 (the
//    code RFC 6455, 7.4.1, gives to data inconsistent with its type).
// 4. Close code 1014 (IANA's "Bad Gateway"): Beast refuses it, chatnode takes
//    it as it takes 1012 and 1013, which Beast allows (and then reads the
//    reason, which may fail as in 3).
// 5. Close codes from 5000 up: Beast takes them, chatnode refuses them (1002),
//    as RFC 6455, 7.4.2, defines codes only up to 4999.
// 6. A 64-bit length with its top bit set: Beast sends 1009 (too big), chatnode
//    1002 (RFC 6455, 5.2: the top bit must be 0).
// 7. Beast (1.81) finishes its UTF-8 check only with the payload of a text
//    message's final frame, so a message that ends inside a character with
//    an empty final frame passes; chatnode fails it with 1007.
// Beast also answers pings; chatnode's reader only reports them (the session
// answers), so the pongs Beast writes are skipped when reading its verdict.
// Both stop reading at the peer's close, as the session does.

#include "node/edge/ws_frame.hpp"

#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace chatnode;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

constexpr std::size_t limit = 512;

constexpr std::string_view upgrade_request =
  "GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// An opcode and its payload; a close's payload as on the wire (code, reason).
using event = std::pair<unsigned, std::string>;

struct outcome {
  std::vector<event> events;
  std::uint16_t failure = 0; ///< the close code sent for a violation, else 0
  bool mid_message = false;  ///< chatnode: stopped inside a message
  const char* reason = "";   ///< chatnode: why it failed
  beast::error_code error;   ///< Beast: how reading ended
};

bool closes(const outcome& o) {
  return !o.events.empty() && o.events.back().first == static_cast<unsigned>(ws::opcode::close);
}

/// The code of the peer's close that ended reading; 0 when none did.
std::uint16_t peer_close_code(const outcome& o) {
  return closes(o) ? ws::close_code_of(o.events.back().second) : 0;
}

/// Whether `closed` has the events of `other` and then a close.
bool but_the_close(const outcome& closed, const outcome& other) {
  return closes(closed) &&
         std::equal(closed.events.begin(), closed.events.end() - 1, other.events.begin(), other.events.end());
}

/// Whether `longer` has the events of `shorter` and then only control frames.
bool then_control_frames(const outcome& longer, const outcome& shorter) {
  auto& a = longer.events;
  auto& b = shorter.events;
  return a.size() >= b.size() && std::equal(b.begin(), b.end(), a.begin()) &&
         std::all_of(a.begin() + b.size(), a.end(), [](const event& e) { return e.first >= 8; });
}

outcome chatnode_reads(std::string_view bytes, std::size_t piece) {
  ws::frame_reader reader{limit};
  outcome out;
  auto on = [&](ws::opcode op, std::string& payload) {
    out.events.emplace_back(static_cast<unsigned>(op), std::move(payload));
    return op != ws::opcode::close; // reading ends at the peer's close
  };
  std::string held; // what the reader did not take yet, as websocket_session keeps it
  for (std::size_t at = 0; at < bytes.size() && !reader.failed() && !closes(out); at += piece) {
    held.append(bytes.substr(at, piece));
    held.erase(0, reader.feed(held.data(), held.size(), on));
  }
  out.failure = reader.failure_code();
  out.reason = reader.failure_reason();
  out.mid_message = !reader.between_messages();
  return out;
}

/// The code of the first close frame a server wrote after its upgrade
/// response (its frames are unmasked; pongs come before); 0 when none.
std::uint16_t sent_close_code(std::string_view wire) {
  auto at = wire.find("\r\n\r\n");
  if (at == std::string_view::npos)
    return 0;
  at += 4;
  while (wire.size() - at >= 2) {
    unsigned op = static_cast<unsigned char>(wire[at]) & 0x0f;
    std::size_t length = static_cast<unsigned char>(wire[at + 1]) & 0x7f; // control frames: <= 125
    if (wire.size() - at - 2 < length)
      return 0;
    if (op == static_cast<unsigned>(ws::opcode::close))
      return ws::close_code_of(wire.substr(at + 2, length));
    at += 2 + length;
  }
  return 0;
}

outcome beast_reads(std::string_view bytes, std::size_t piece) {
  boost::asio::io_context ioc;
  beast::test::stream client{ioc};
  websocket::stream<beast::test::stream> server{ioc};
  server.next_layer().connect(client);
  server.next_layer().read_size(piece);
  server.next_layer().append(upgrade_request);
  server.next_layer().append(bytes);
  server.next_layer().close_remote();                 // the end of the input reads as the end of the stream
  server.set_option(websocket::permessage_deflate{}); // off, as chatnode negotiates no extensions
  server.read_message_max(limit);
  outcome out;
  server.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    switch (kind) {
      case websocket::frame_type::ping: out.events.emplace_back(9, std::string{payload}); break;
      case websocket::frame_type::pong: out.events.emplace_back(10, std::string{payload}); break;
      case websocket::frame_type::close: {
        auto& why = server.reason();
        auto wire = why.code == websocket::close_code::none
                      ? std::string{}
                      : ws::close_payload(why.code, {why.reason.data(), why.reason.size()});
        out.events.emplace_back(8, std::move(wire));
        break;
      }
    }
  });
  server.accept(out.error);
  if (out.error)
    std::abort(); // the upgrade request is valid
  for (;;) {
    beast::flat_buffer message;
    server.read(message, out.error);
    if (out.error)
      break;
    out.events.emplace_back(server.got_text() ? 1 : 2, beast::buffers_to_string(message.data()));
  }
  if (out.error == websocket::error::closed || out.error == boost::asio::error::eof)
    return out; // the peer's close, or the end of the input
  // The verdict is the close frame Beast wrote, which is what a client sees;
  // the error code only tells the documented differences apart.
  out.failure = sent_close_code(client.str());
  if (out.failure == 0)
    std::abort(); // Beast failed the connection without a close frame
  return out;
}

/// Whether the two outcomes agree, up to differences 2 to 7 above.
bool agree(const outcome& ours, const outcome& theirs) {
  if (ours.events == theirs.events && ours.failure == theirs.failure)
    return true;
  auto bad_text = std::find_if(theirs.events.begin(), theirs.events.end(), [](const event& e) {
    return e.first == static_cast<unsigned>(ws::opcode::text) && !ws::valid_utf8(e.second);
  });
  if (bad_text != theirs.events.end()) // 7: first, as it came before what ended Beast's reading
    return ours.failure == close_code::invalid_payload &&
           std::equal(ours.events.begin(), ours.events.end(), theirs.events.begin(), bad_text);
  if (theirs.error == websocket::error::bad_frame_payload) // 2
    return then_control_frames(ours, theirs) && (ours.failure != 0 || ours.mid_message);
  if (theirs.error == websocket::error::bad_close_payload) // 3
    return ours.events == theirs.events && ours.failure == close_code::invalid_payload;
  if (theirs.error == websocket::error::bad_close_code) // 4
    return (ours.failure == 0 && peer_close_code(ours) == 1014 && but_the_close(ours, theirs)) ||
           (ours.failure == close_code::invalid_payload && ours.events == theirs.events);
  if (theirs.failure == 0 && peer_close_code(theirs) >= 5000) // 5
    return ours.failure == close_code::protocol_error && but_the_close(theirs, ours);
  if (theirs.error == websocket::error::message_too_big) // 6
    return ours.events == theirs.events && ours.failure == close_code::protocol_error &&
           std::strcmp(ours.reason, "frame length out of range") == 0;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  std::size_t piece = 1 + data[0] % 64;
  auto ours = chatnode_reads(bytes, piece);
  auto theirs = beast_reads(bytes, piece);
  if (agree(ours, theirs))
    return 0;
  if (ours.failure != 0 && theirs.failure == 0 && !closes(theirs)) { // 1
    // 14 bytes complete any header, 125 more any control frame.
    std::string padded{bytes};
    padded.append(ws::max_header_bytes + 4 + 125, '\0');
    if (agree(ours, beast_reads(padded, piece)))
      return 0;
  }
  std::abort();
}

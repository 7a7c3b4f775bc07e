// Fuzzes the WebSocket frame reader. Properties: no crash or sanitizer
// report; the same bytes give the same messages and the same verdict
// whether they arrive at once or in pieces (the first byte sets the piece
// size); no message is over the limit; every text message is UTF-8.

#include "node/edge/ws_frame.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

using namespace chatnode;

namespace {

constexpr std::size_t limit = 512;

struct outcome {
  std::vector<std::pair<ws::opcode, std::string>> messages;
  std::uint16_t failure = 0;
};

outcome read_all(std::string_view bytes, std::size_t piece) {
  ws::frame_reader reader{limit};
  outcome out;
  auto on = [&](ws::opcode op, std::string& payload) {
    if (payload.size() > limit)
      std::abort();
    if (op == ws::opcode::text && !ws::valid_utf8(payload))
      std::abort();
    out.messages.emplace_back(op, std::move(payload));
    return true;
  };
  std::string held; // what the reader did not take yet
  for (std::size_t at = 0; at < bytes.size() && !reader.failed(); at += piece) {
    held.append(bytes.substr(at, piece));
    auto used = reader.feed(held.data(), held.size(), on);
    held.erase(0, used);
  }
  if (!reader.failed() && !held.empty())
    std::abort(); // an unpaused reader takes everything it is given
  out.failure = reader.failure_code();
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto whole = read_all(bytes, bytes.size() + 1);
  auto pieces = read_all(bytes, 1 + data[0] % 16);
  if (whole.failure != pieces.failure || whole.messages != pieces.messages)
    std::abort();
  return 0;
}

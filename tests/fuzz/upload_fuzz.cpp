// Fuzzes what a file upload or download reads from outside: the upload
// ticket in a PUT's path, and a download's Range header. Properties: no
// crash or sanitizer report; no ticket that was not sealed with the secret
// opens; a correctly signed payload of any bytes opens only to a well-formed
// ticket; a range, when partial, lies inside the file.

#include "actors/contracts/signing.hpp"
#include "actors/contracts/upload_ticket.hpp"
#include "node/files/byte_range.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace chatnode;

namespace {
constexpr std::string_view secret = "fuzzing-upload-secret-0123456789";
constexpr std::int64_t now = 1'800'000'000;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  if (open_ticket(input, secret, now))
    std::abort();

  // The same bytes as a payload signed with the secret: parsed, never trusted blindly.
  auto payload = base64url(input);
  auto sealed = payload + "." + base64url(hmac_sha256(secret, payload));
  if (auto ticket = open_ticket(sealed, secret, now)) {
    if (!valid_file_id(ticket->file) || ticket->expires <= now)
      std::abort();
    if (auto again = open_ticket(seal_ticket(*ticket, secret), secret, now);
        !again || again->file != ticket->file || again->size != ticket->size || again->name != ticket->name)
      std::abort();
  }

  // As a Range header over a file whose size is the first 8 bytes.
  std::uint64_t file_size = 0;
  if (size >= 8) {
    std::memcpy(&file_size, data, 8);
    file_size >>= (data[0] & 63); // small sizes too
    input.remove_prefix(8);
  }
  auto range = read_range(input, file_size);
  if (range.verdict == range_verdict::partial && (range.first > range.last || range.last >= file_size))
    std::abort();
  return 0;
}

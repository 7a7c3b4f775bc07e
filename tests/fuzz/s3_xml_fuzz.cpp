// The S3 client's XML reader on arbitrary bytes (what a store answers is
// read before anything is trusted): an error document, a listing, and
// character references. It must never crash or hang, and no field it
// answers may be longer than what it read.
#include "node/files/s3_xml.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view xml{reinterpret_cast<const char*>(data), size};
  auto error = chatnode::parse_s3_error(xml);
  if (error.code.size() > size || error.message.size() > size)
    std::abort();
  // Elements may overlap in bytes that are not XML; each is still a part of
  // the input, and each object stands on a "<Contents>" of its own.
  auto listing = chatnode::parse_s3_listing(xml);
  if (listing.next_continuation_token.size() > size || listing.objects.size() * 10 > size)
    std::abort();
  for (const auto& o : listing.objects)
    if (o.key.size() > size || o.last_modified.size() > size || o.etag.size() > size)
      std::abort();
  if (chatnode::xml_unescape(xml).size() > size)
    std::abort();
  return 0;
}

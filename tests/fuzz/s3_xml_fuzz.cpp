// What an S3 bucket gives back, read before anything is trusted, on
// arbitrary bytes: the client's XML reader (an error document, a listing,
// character references), S3's times, and a file's description (JSON the
// store keeps). Nothing may crash or hang, no field may be longer than what
// was read, and a description read back from what it writes is the same.
#include "node/files/file_store.hpp"
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
  for (const auto& o : listing.objects) {
    if (o.key.size() > size || o.last_modified.size() > size || o.etag.size() > size)
      std::abort();
    (void)chatnode::s3_time_seconds(o.last_modified);
  }
  if (chatnode::xml_unescape(xml).size() > size)
    std::abort();
  (void)chatnode::s3_time_seconds(xml);
  if (auto file = chatnode::description_from_json(xml)) {
    auto again = chatnode::description_from_json(chatnode::describe_as_json(*file));
    if (!again || again->id != file->id || again->name != file->name || again->size != file->size ||
        again->sent != file->sent || again->thumb_size != file->thumb_size)
      std::abort();
  }
  return 0;
}

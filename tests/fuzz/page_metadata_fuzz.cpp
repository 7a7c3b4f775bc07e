// The link preview's HTML reader on arbitrary bytes: the first bytes (up to
// a newline) are the Content-Type header, the rest the page. It must never
// crash or hang, and what it answers must keep its limits.
#include "node/fetch/page_metadata.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto newline = input.find('\n');
  auto header = newline == std::string_view::npos ? std::string_view{} : input.substr(0, newline);
  auto html = newline == std::string_view::npos ? input : input.substr(newline + 1);
  auto page = chatnode::read_page_metadata(html, header);
  // Limits in code points, each at most 4 bytes, plus the ellipsis.
  if (page.title.size() > chatnode::max_preview_title * 4 + 3 ||
      page.description.size() > chatnode::max_preview_description * 4 + 3 ||
      page.site.size() > chatnode::max_preview_site * 4 + 3 ||
      page.image.size() > chatnode::max_preview_image_url)
    std::abort();
  return 0;
}

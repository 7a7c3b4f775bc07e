#pragma once
// What a link preview shows of an HTML page: its Open Graph title,
// description, site name and image, else its <title> (and the description
// meta). Reads only the head (it stops at </head> or <body>), in the
// page's charset (the Content-Type header's, else the page's own <meta>,
// else UTF-8), and answers UTF-8 with entities decoded, whitespace folded
// and each field cut to its limit. The page's bytes come from anyone: the
// scan builds no tree, looks at each byte a bounded number of times, and
// never fails, at worst it finds nothing. (Not libxml2's HTML parser or
// gumbo, Debian's: both build a tree of the whole page, up to 1 MiB of a
// stranger's markup, to read a few tags of its head.)

#include <cstddef>
#include <string>
#include <string_view>

namespace chatnode {

struct page_metadata {
  std::string title;
  std::string description;
  std::string site;
  std::string image; ///< as the page gives it (maybe relative): the fetcher resolves and checks it
  bool empty() const { return title.empty() && description.empty(); }
};

inline constexpr std::size_t max_preview_title = 300;        ///< characters
inline constexpr std::size_t max_preview_description = 1000; ///< characters
inline constexpr std::size_t max_preview_site = 100;         ///< characters
inline constexpr std::size_t max_preview_image_url = 2048;   ///< bytes

/// The preview fields of an HTML page; `content_type` is the response's
/// header (its charset parameter wins over the page's own).
page_metadata read_page_metadata(std::string_view html, std::string_view content_type = {});

/// The charset named by a Content-Type value ("text/html; charset=...").
std::string charset_of(std::string_view content_type);

} // namespace chatnode

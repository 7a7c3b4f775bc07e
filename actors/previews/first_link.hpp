#pragma once
// (1.2) The link of a message that the node previews: its first http: or
// https: URL, as the page shows links (format.mjs) - up to the first space
// or angle bracket, without the punctuation that usually ends a sentence
// after it, and without a closing parenthesis it does not open.

#include <cstddef>
#include <string>
#include <string_view>

namespace chatnode {

inline constexpr std::size_t max_preview_url = 2048; ///< bytes; a longer link is not previewed

/// The first link in `text`; empty when there is none (or it is too long).
std::string first_link(std::string_view text);

} // namespace chatnode

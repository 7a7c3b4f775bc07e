#include "actors/previews/first_link.hpp"

#include <algorithm>
#include <cctype>

namespace chatnode {

namespace {

bool starts_link(std::string_view text, std::size_t at) {
  auto rest = text.substr(at);
  auto prefix = [&](std::string_view p) {
    return rest.size() > p.size() && std::equal(p.begin(), p.end(), rest.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  };
  // A link starts a word: "xhttps://" is not one (nor after a letter
  // beyond ASCII, whose last byte is >= 0x80).
  auto before = at == 0 ? ' ' : static_cast<unsigned char>(text[at - 1]);
  bool word_start = before < 0x80 && !std::isalnum(before);
  return word_start && (prefix("https://") || prefix("http://"));
}

bool ends_link(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '<' || c == '>' || c == '"' || c == '`';
}

} // namespace

std::string first_link(std::string_view text) {
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (!starts_link(text, at))
      continue;
    auto end = at;
    while (end < text.size() && !ends_link(text[end]))
      ++end;
    auto link = text.substr(at, end - at);
    // Sentence punctuation after a link is not part of it; nor is a ")" it does not open.
    for (;;) {
      if (link.empty())
        break;
      char last = link.back();
      if (last == '.' || last == ',' || last == ';' || last == ':' || last == '!' || last == '?' ||
          last == '\'') {
        link.remove_suffix(1);
        continue;
      }
      if (last == ')' &&
          std::count(link.begin(), link.end(), '(') < std::count(link.begin(), link.end(), ')')) {
        link.remove_suffix(1);
        continue;
      }
      break;
    }
    auto scheme_end = link.find("://") + 3;
    if (link.size() <= scheme_end || link.size() > max_preview_url)
      return {};
    return std::string{link};
  }
  return {};
}

} // namespace chatnode

#include "actors/contracts/mentions.hpp"

#include <algorithm>

namespace chatnode {

namespace {

constexpr std::size_t max_mention_chars = 32;

bool ends_name(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '@' || c == ',' ||
         c == '.' || c == ';' || c == ':' || c == '!' || c == '?' || c == '(' || c == ')';
}

bool starts_mention(std::string_view text, std::size_t at) {
  if (at == 0)
    return true;
  unsigned char before = text[at - 1];
  return before == ' ' || before == '\t' || before == '\n' || before == '\r' || before == '\f' ||
         before == '\v' || before == '(';
}

} // namespace

std::vector<std::string> mentioned_names(std::string_view text, std::size_t at_most) {
  std::vector<std::string> names;
  for (std::size_t at = text.find('@'); at != std::string_view::npos && names.size() < at_most;
       at = text.find('@', at + 1)) {
    if (!starts_mention(text, at))
      continue;
    auto end = at + 1;
    std::size_t chars = 0;
    while (end < text.size() && !ends_name(static_cast<unsigned char>(text[end]))) {
      if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80)
        ++chars; // a UTF-8 character starts here
      ++end;
    }
    if (chars == 0 || chars > max_mention_chars)
      continue;
    std::string name{text.substr(at + 1, end - at - 1)};
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  }
  return names;
}

} // namespace chatnode

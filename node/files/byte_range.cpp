#include "node/files/byte_range.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace chatnode {

namespace {

std::optional<std::uint64_t> digits(std::string_view text) {
  if (text.empty() || text.size() > 19) // fits in 64 bits
    return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

bool unit_is_bytes(std::string_view unit) {
  return unit.size() == 5 &&
         std::equal(unit.begin(), unit.end(), "bytes", [](char a, char b) { return (a | 0x20) == b; });
}

} // namespace

range_answer read_range(std::string_view header, std::uint64_t size) {
  auto eq = header.find('=');
  if (header.empty() || eq == std::string_view::npos || !unit_is_bytes(header.substr(0, eq)))
    return {};
  auto spec = header.substr(eq + 1);
  if (spec.find(',') != std::string_view::npos)
    return {}; // several ranges: the whole file instead of a multipart answer
  auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return {};
  auto first_text = spec.substr(0, dash);
  auto last_text = spec.substr(dash + 1);
  if (first_text.empty()) { // the last N bytes
    auto suffix = digits(last_text);
    if (!suffix)
      return {};
    if (*suffix == 0 || size == 0)
      return {range_verdict::unsatisfiable};
    return {range_verdict::partial, size - std::min(*suffix, size), size - 1};
  }
  auto first = digits(first_text);
  if (!first)
    return {};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    auto given = digits(last_text);
    if (!given || *given < *first)
      return {}; // not a valid range: ignored
    last = std::min(*given, last);
  }
  if (*first >= size)
    return {range_verdict::unsatisfiable};
  return {range_verdict::partial, *first, last};
}

} // namespace chatnode

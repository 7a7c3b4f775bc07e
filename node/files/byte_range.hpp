#pragma once
// The Range header of a download (RFC 9110 14.1.2): one byte range is
// honoured; several, or a header that does not parse, get the whole file
// (which the RFC allows); a range that starts past the end is unsatisfiable.

#include <cstdint>
#include <string_view>

namespace chatnode {

enum class range_verdict { whole, partial, unsatisfiable };

struct range_answer {
  range_verdict verdict = range_verdict::whole;
  std::uint64_t first = 0; ///< partial: the first byte sent
  std::uint64_t last = 0;  ///< partial: the last byte sent (inclusive)
};

/// What to send of a file of `size` bytes for this Range header ("" when absent).
range_answer read_range(std::string_view header, std::uint64_t size);

} // namespace chatnode

#include "node/fetch/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace chatnode {

int retry_after_seconds(std::string_view field, std::chrono::system_clock::time_point now) {
  while (!field.empty() && field.front() == ' ')
    field.remove_prefix(1);
  while (!field.empty() && field.back() == ' ')
    field.remove_suffix(1);
  if (field.empty())
    return -1;
  if (std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int seconds = 0;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), seconds);
    if (ec == std::errc::result_out_of_range)
      return 3600 * 24; // a number past int: as long as anyone waits
    return std::min(seconds, 3600 * 24);
  }
  // An HTTP date (RFC 9110 §5.6.7, its preferred form).
  std::tm tm{};
  std::string text{field};
  auto* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0')
    return -1;
  // In seconds: a date centuries ahead is past what a clock's nanoseconds hold.
  auto wait =
    static_cast<long long>(timegm(&tm)) - static_cast<long long>(std::chrono::system_clock::to_time_t(now));
  return wait > 0 ? static_cast<int>(std::min<long long>(wait, 3600 * 24)) : 0;
}

} // namespace chatnode

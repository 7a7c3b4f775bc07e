// Fuzzes Retry-After as a push service (or any server the node calls) sends
// it. Properties: no crash or sanitizer report; the answer is -1 or 0 to a
// day; a field of digits alone is its number (a day at most).

#include "node/fetch/retry_after.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view field{reinterpret_cast<const char*>(data), size};
  auto now = std::chrono::system_clock::from_time_t(1445412480);
  auto seconds = chatnode::retry_after_seconds(field, now);
  if (seconds < -1 || seconds > 86400)
    std::abort();
  if (!field.empty() && field.size() <= 5 &&
      std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      seconds != std::min(std::stoi(std::string{field}), 86400))
    std::abort();
  return 0;
}

// Fuzzes the config parser. Properties: no crash; a config it accepts prints
// (--check-config) as TOML that parses back to the same config.

#include "node/process/config.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto result = chatnode::parse_config(text, "fuzz.toml");
  auto* config = std::get_if<chatnode::node_config>(&result);
  if (config == nullptr)
    return 0;
  auto printed = chatnode::to_toml(*config);
  auto again = chatnode::parse_config(printed, "printed.toml");
  auto* back = std::get_if<chatnode::node_config>(&again);
  if (back == nullptr || chatnode::to_toml(*back) != printed)
    std::abort();
  return 0;
}

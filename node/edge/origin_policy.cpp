#include "node/edge/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace chatnode {

namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return lower(a) == lower(b);
}

/// "scheme://host[:port]" -> "host[:port]", lower-cased.
std::string origin_authority(std::string_view origin) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos)
    return {};
  auto authority = origin.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  return lower(authority);
}

/// Drops a default port, so "host:80" matches "host" for http (443 for https).
std::string without_default_port(std::string authority, std::string_view scheme) {
  auto strip = [&](std::string_view port) {
    if (authority.ends_with(port))
      authority.erase(authority.size() - port.size());
  };
  if (scheme == "http" || scheme == "ws")
    strip(":80");
  else if (scheme == "https" || scheme == "wss")
    strip(":443");
  return authority;
}

} // namespace

bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  for (const auto& entry : allowed)
    if (iequals(entry, origin) || entry == "*")
      return true;
  auto scheme = origin.substr(0, origin.find("://"));
  auto authority = origin_authority(origin);
  if (authority.empty() || host.empty())
    return false;
  return without_default_port(authority, scheme) == without_default_port(lower(host), scheme);
}

} // namespace chatnode

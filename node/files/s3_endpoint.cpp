#include "node/files/s3_endpoint.hpp"

#include "node/files/s3_signing.hpp"

#include <algorithm>
#include <cctype>

namespace chatnode {

std::optional<s3_endpoint> parse_s3_endpoint(std::string_view url) {
  s3_endpoint out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (url.ends_with('/'))
    url.remove_suffix(1);
  if (url.empty() || url.find_first_of("/?#@ ") != std::string_view::npos)
    return std::nullopt;
  std::string_view host = url;
  std::string_view port;
  if (url.front() == '[') { // an IPv6 literal
    auto close = url.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = url.substr(1, close - 1);
    auto rest = url.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return std::nullopt;
    if (!rest.empty())
      port = rest.substr(1);
  } else if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  bool digits = std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
  if (host.empty() || !digits || port.size() > 5 || (!port.empty() && std::stoul(std::string{port}) > 65535))
    return std::nullopt;
  std::string fallback = out.tls ? "443" : "80";
  out.host = host;
  out.port = port.empty() ? fallback : std::string{port};
  out.host_header = url.front() == '[' ? '[' + out.host + ']' : out.host;
  if (out.port != fallback)
    out.host_header += ':' + out.port;
  return out;
}

s3_address address_s3_object(const s3_endpoint& endpoint, std::string_view bucket, bool path_style,
                             std::string_view key,
                             const std::vector<std::pair<std::string, std::string>>& query) {
  s3_address out;
  out.host_header = endpoint.host_header;
  out.connect_host = endpoint.host;
  if (path_style) {
    out.path = '/' + std::string{bucket};
    if (!key.empty())
      out.path += '/' + std::string{key};
  } else {
    out.host_header = std::string{bucket} + '.' + endpoint.host_header;
    out.connect_host = std::string{bucket} + '.' + endpoint.host;
    out.path = '/' + std::string{key};
  }
  // Encoded as the signature's canonical request encodes them, so that what
  // is sent is what was signed.
  out.target = s3_uri_encode(out.path, true);
  std::vector<std::pair<std::string, std::string>> parameters;
  for (const auto& [name, value] : query)
    parameters.emplace_back(s3_uri_encode(name, false), s3_uri_encode(value, false));
  std::sort(parameters.begin(), parameters.end());
  for (std::size_t i = 0; i < parameters.size(); ++i)
    out.target += (i ? '&' : '?') + parameters[i].first + '=' + parameters[i].second;
  return out;
}

} // namespace chatnode

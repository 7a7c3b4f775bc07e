#include "node/files/s3_signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace chatnode {

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &size);
  return {reinterpret_cast<const char*>(digest), size};
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// A header value as SigV4 compares it: outer spaces gone, inner runs of spaces one.
std::string trimmed(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

/// The headers signed, by lower-case name in order: the request's, host,
/// and the x-amz- ones the signature adds.
std::vector<std::pair<std::string, std::string>> signed_headers(const s3_request& request,
                                                                const s3_credentials& credentials) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers)
    headers.emplace_back(lower(name), trimmed(value));
  headers.emplace_back("host", request.host);
  headers.emplace_back("x-amz-content-sha256", request.payload_sha256);
  headers.emplace_back("x-amz-date", request.amz_date);
  if (!credentials.session_token.empty())
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  std::sort(headers.begin(), headers.end());
  return headers;
}

std::string header_names(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!out.empty())
      out += ';';
    out += name;
  }
  return out;
}

} // namespace

std::string s3_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return hex({reinterpret_cast<const char*>(digest), size});
}

std::string amz_date_of(long long seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string s3_canonical_request(const s3_request& request, const s3_credentials& credentials) {
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : request.query)
    query.emplace_back(s3_uri_encode(name, false), s3_uri_encode(value, false));
  std::sort(query.begin(), query.end());
  std::string canonical = request.method + '\n' + s3_uri_encode(request.path, true) + '\n';
  for (std::size_t i = 0; i < query.size(); ++i)
    canonical += (i ? "&" : "") + query[i].first + '=' + query[i].second;
  canonical += '\n';
  auto headers = signed_headers(request, credentials);
  for (const auto& [name, value] : headers)
    canonical += name + ':' + value + '\n';
  canonical += '\n' + header_names(headers) + '\n' + request.payload_sha256;
  return canonical;
}

s3_signature s3_sign(const s3_request& request, const s3_credentials& credentials) {
  auto day = request.amz_date.substr(0, 8);
  auto scope = day + '/' + request.region + "/s3/aws4_request";
  auto to_sign = "AWS4-HMAC-SHA256\n" + request.amz_date + '\n' + scope + '\n' +
                 sha256_hex(s3_canonical_request(request, credentials));
  auto key = hmac_sha256("AWS4" + credentials.secret_key, day);
  key = hmac_sha256(key, request.region);
  key = hmac_sha256(key, "s3");
  key = hmac_sha256(key, "aws4_request");
  s3_signature out;
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + '/' + scope +
                      ", SignedHeaders=" + header_names(signed_headers(request, credentials)) +
                      ", Signature=" + hex(hmac_sha256(key, to_sign));
  out.amz_date = request.amz_date;
  out.content_sha256 = request.payload_sha256;
  out.security_token = credentials.session_token;
  return out;
}

} // namespace chatnode

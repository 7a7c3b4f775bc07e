#pragma once
// AWS Signature Version 4 for S3-compatible stores (AWS S3, MinIO, Ceph
// RGW, Garage): the canonical request, the string to sign, and the headers
// a request carries. Pure functions, no I/O: the S3 client signs each
// request with these just before it sends it.

#include <string>
#include <utility>
#include <vector>

namespace chatnode {

struct s3_credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token; ///< temporary credentials' token; empty: none
};

/// What is signed of a request. Header names in any case; `host` is added.
struct s3_request {
  std::string method; ///< GET, PUT, HEAD, DELETE
  std::string host;   ///< as the Host header carries it, port included where not the default
  std::string path;   ///< the object's path, not yet encoded: "/bucket/ab/id" or "/ab/id"
  std::vector<std::pair<std::string, std::string>> query;   ///< not yet encoded
  std::vector<std::pair<std::string, std::string>> headers; ///< others to sign (content-type, range)
  std::string payload_sha256; ///< hex of the body's SHA-256, or "UNSIGNED-PAYLOAD"
  std::string amz_date;       ///< "YYYYMMDDTHHMMSSZ"
  std::string region;
};

/// The headers to send besides the request's own.
struct s3_signature {
  std::string authorization;
  std::string amz_date;       ///< x-amz-date
  std::string content_sha256; ///< x-amz-content-sha256
  std::string security_token; ///< x-amz-security-token; empty: not sent
};

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters as
/// they are, every other byte as %XX (upper case); '/' kept when `keep_slash`.
std::string s3_uri_encode(std::string_view text, bool keep_slash);
/// The canonical request (the signature's input before hashing).
std::string s3_canonical_request(const s3_request& request, const s3_credentials& credentials);
/// Signs the request.
s3_signature s3_sign(const s3_request& request, const s3_credentials& credentials);
/// The hex SHA-256 of bytes (an empty body's is e3b0c442...).
std::string sha256_hex(std::string_view bytes);
/// "YYYYMMDDTHHMMSSZ" for seconds since the epoch.
std::string amz_date_of(long long seconds);

} // namespace chatnode

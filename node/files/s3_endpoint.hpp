#pragma once
// Where the S3 client sends a request: the endpoint the operator
// configured ("http://host:port" or "https://host"), and how an object of
// a bucket is addressed on it, path-style ("/bucket/key" on the endpoint's
// host) or virtual-hosted ("/key" on "bucket.host"). Pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatnode {

struct s3_endpoint {
  bool tls = false;
  std::string host;        ///< as resolved and the TLS server name: no brackets
  std::string port;        ///< "80"/"443" when the URL names none
  std::string host_header; ///< as the Host field carries it: brackets, port where not the default
};

/// The endpoint of "http(s)://host[:port][/]"; nullopt for anything else
/// (a path, a query or user info are refused: S3 is addressed from the root).
std::optional<s3_endpoint> parse_s3_endpoint(std::string_view url);

/// One request's address: what is signed and what is sent.
struct s3_address {
  std::string host_header;  ///< the Host field
  std::string connect_host; ///< the name resolved
  std::string path;         ///< not encoded, as s3_request wants it
  std::string target;       ///< the request target: path and query, encoded
};

/// The address of `key` in `bucket` (key empty: the bucket itself), with
/// the query's parameters (not yet encoded).
s3_address address_s3_object(const s3_endpoint& endpoint, std::string_view bucket, bool path_style,
                             std::string_view key,
                             const std::vector<std::pair<std::string, std::string>>& query);

} // namespace chatnode

#pragma once
// An asynchronous client of an S3-compatible store (AWS S3, MinIO, Ceph
// RGW, Garage): put, get (whole or a byte range), head, delete and list
// (ListObjectsV2) of objects in one bucket, and a streamed upload of a
// large object. Requests are signed with SigV4 (s3_signing.hpp) and sent
// over a few kept-alive connections, plain or TLS verified against the
// system's CAs. The endpoint is the operator's and trusted: no address
// policy as for fetched pages.
//
// Everything runs on the given io_context; nothing blocks a thread, and
// every completion runs there, once.

#include "node/files/s3_signing.hpp"
#include "node/files/s3_xml.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chatnode {

struct s3_config {
  std::string endpoint; ///< "http://host:port" or "https://host[:port]"
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true; ///< "/bucket/key" on the endpoint; false: "/key" on "bucket.host"
  s3_credentials credentials;
  std::chrono::milliseconds request_timeout{30000}; ///< a whole request, connecting included
  std::chrono::milliseconds stall_timeout{30000};   ///< a streamed upload: each write, and its answer
  std::size_t max_idle_connections = 8;             ///< kept alive for the next requests
  std::chrono::milliseconds max_idle{15000};        ///< older idle ones are closed, not reused
};

/// How a request ended. `ok()` for a 2xx answer.
struct s3_result {
  int status = 0;         ///< HTTP status; 0 when no answer came
  std::string error;      ///< empty on success; S3's "Code: Message", or why no answer came
  std::string error_code; ///< S3's <Code> ("NoSuchKey", "SignatureDoesNotMatch"); empty: none
  std::string etag;       ///< the object's, where the answer names it
  bool ok() const { return error.empty(); }
};

/// A get's or a head's answer.
struct s3_object_result : s3_result {
  std::optional<std::uint64_t> content_length;
  std::string content_type;
  std::string content_range; ///< "bytes 0-99/1000" for a range
  std::string last_modified;
  std::string body; ///< get only
};

struct s3_list_result : s3_result {
  s3_listing listing;
};

/// Bytes first..last (inclusive) of an object; no `last`: to the end.
struct s3_byte_range {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;
};

class s3_upload;
struct s3_transport;

class s3_client {
public:
  /// Throws std::invalid_argument when the endpoint does not parse.
  s3_client(boost::asio::io_context& io, s3_config config);
  ~s3_client();
  s3_client(const s3_client&) = delete;
  s3_client& operator=(const s3_client&) = delete;

  /// A small object in one request, its payload's SHA-256 signed.
  void put_object(std::string key, std::string body, std::string content_type,
                  std::function<void(s3_result)> done);
  /// The object, or a range of it; an object (or range) larger than
  /// `max_bytes` is an error, not a truncated body.
  void get_object(std::string key, std::optional<s3_byte_range> range, std::size_t max_bytes,
                  std::function<void(s3_object_result)> done);
  void head_object(std::string key, std::function<void(s3_object_result)> done);
  void delete_object(std::string key, std::function<void(s3_result)> done);
  /// One page of the keys under `prefix`, at most `max_keys` (S3 caps at
  /// 1000); the next page from the listing's next_continuation_token.
  void list_objects(std::string prefix, std::string continuation_token,
                    std::function<void(s3_list_result)> done, int max_keys = 1000);
  /// Starts a streamed upload of exactly `content_length` bytes (see
  /// s3_upload.hpp); `complete` runs once, with the answer after the last
  /// byte or with the error that ended the upload.
  std::shared_ptr<s3_upload> start_put(std::string key, std::uint64_t content_length,
                                       std::string content_type, std::function<void(s3_result)> complete);

  /// Connections kept alive now (for tests and metrics).
  std::size_t idle_connections() const;

private:
  std::shared_ptr<s3_transport> transport_;
};

} // namespace chatnode

#pragma once
// A streamed upload of a large object (s3_client::start_put): one PUT of
// a length known beforehand (Content-Length, no chunked encoding, which
// S3 refuses), its payload not signed (x-amz-content-sha256:
// UNSIGNED-PAYLOAD) so that it need not be read twice. The caller writes
// the bytes in pieces, each after the last one's `written` (the
// backpressure); each write must be over within the stall timeout.

#include "node/files/s3_client.hpp"
#include "node/files/s3_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chatnode {

struct s3_transport;

class s3_upload : public std::enable_shared_from_this<s3_upload> {
public:
  s3_upload(std::shared_ptr<s3_transport> transport, std::string key, std::uint64_t content_length,
            std::string content_type, std::function<void(s3_result)> complete);

  /// Sends the next piece, whose bytes stay the caller's and unchanged until
  /// `written` runs: once it is sent (an empty error), or with why the
  /// upload ended, after which `complete` runs too. The last byte's write
  /// also waits for the answer, which `complete` gets. An object of no
  /// bytes: one write of none. Dropping the upload before its last write
  /// abandons it: the connection is closed, `complete` is not called.
  void write(boost::asio::const_buffer piece, std::function<void(std::string error)> written);

  /// Bytes still to write.
  std::uint64_t remaining() const { return remaining_; }

private:
  /// The piece sent; the upload's result once it is over, nullopt while more is wanted.
  boost::asio::awaitable<std::optional<s3_result>> send(boost::asio::const_buffer piece);
  /// Reads the answer, after the last byte or after a write failed (`write_failure`).
  boost::asio::awaitable<std::optional<s3_result>> answer(std::string write_failure);
  void end(s3_result result, const std::function<void(std::string)>& written);

  std::shared_ptr<s3_transport> transport_;
  std::string host_;
  boost::beast::http::request<boost::beast::http::buffer_body> request_;
  std::optional<s3_connection::streamed_request> serializer_;
  std::unique_ptr<s3_connection> connection_;
  std::uint64_t remaining_;
  std::function<void(s3_result)> complete_;
  bool writing_ = false;
  bool over_ = false;
};

} // namespace chatnode

#pragma once
// One connection of the S3 client to its endpoint, plain or TLS: opening
// it within a deadline, sending a request (whole, or a header and then its
// body in pieces) and reading one answer with a bounded body. Whether it
// is TLS is hidden here; the client and its uploads see one kind.

#include "node/files/s3_endpoint.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <variant>

namespace chatnode {

/// An answer as read: its header, its body (bounded), whether the
/// connection may carry another request.
struct s3_response {
  boost::beast::http::response_header<> header;
  std::string body;
  bool keep_alive = false;
};

class s3_connection {
public:
  using clock = std::chrono::steady_clock;
  using plain_stream = boost::beast::tcp_stream;
  using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using streamed_request = boost::beast::http::request_serializer<boost::beast::http::buffer_body>;

  /// Enough for S3's error documents and the answers to a put or a delete
  /// (a few hundred bytes); more is not what was asked.
  static constexpr std::size_t max_small_body = 64 * 1024;

  /// Resolves, connects and (https) handshakes, verifying the server's
  /// certificate and name, before `until`. `tls` is used for https only.
  static boost::asio::awaitable<std::unique_ptr<s3_connection>> open(const s3_endpoint& endpoint,
                                                                     const std::string& host,
                                                                     boost::asio::ssl::context* tls,
                                                                     clock::time_point until);

  explicit s3_connection(plain_stream stream);
  explicit s3_connection(tls_stream stream);

  /// Every operation from now must be over by then.
  void expires_at(clock::time_point until);
  void expires_never();

  boost::asio::awaitable<void> send(boost::beast::http::request<boost::beast::http::string_body>& request);
  boost::asio::awaitable<void> send_header(streamed_request& serializer);
  /// Sends what the serializer's body holds now (all of it when it has `more`).
  boost::asio::awaitable<void> send_body(streamed_request& serializer);
  /// Reads one answer; a 2xx body larger than `max_body`, or an error's
  /// larger than max_small_body, is an error (http::error::body_limit).
  boost::asio::awaitable<s3_response> receive(bool head, std::size_t max_body);

  /// Whether an idle connection was closed by the server, or sent
  /// something unasked: either way not to be reused.
  bool unusable();

  clock::time_point idle_since;

private:
  boost::beast::tcp_stream& tcp();

  std::variant<plain_stream, tls_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

} // namespace chatnode

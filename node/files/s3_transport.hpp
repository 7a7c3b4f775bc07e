#pragma once
// What the S3 client's requests share: the configuration, the endpoint,
// the TLS context, the idle connections kept alive, and how a request is
// addressed and signed and its answer read into a result. Shared (by
// shared_ptr) with requests in flight, so that a client destroyed under
// them leaves them nothing dangling.

#include "node/files/s3_client.hpp"
#include "node/files/s3_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>

#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatnode {

/// One request before it is signed.
struct s3_call {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string key; ///< empty: the bucket
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers; ///< signed too: content-type, range
  std::string payload_sha256;                               ///< or "UNSIGNED-PAYLOAD"
};

struct s3_transport {
  using clock = s3_connection::clock;

  s3_transport(boost::asio::io_context& io, s3_config config);

  /// The request's header, addressed and signed now; `host` gets the name to connect to.
  boost::beast::http::request_header<> signed_header(const s3_call& call, std::string& host) const;

  /// An idle connection to `host` when one is kept (`reused`), or a new one.
  boost::asio::awaitable<std::unique_ptr<s3_connection>> connect(const std::string& host,
                                                                 clock::time_point until, bool& reused);
  /// Keeps a connection that finished a request cleanly for the next one.
  void keep(const std::string& host, std::unique_ptr<s3_connection> connection);
  std::size_t idle_count() const;

  boost::asio::io_context& io;
  const s3_config config;
  const s3_endpoint endpoint;
  std::optional<boost::asio::ssl::context> tls; ///< https only

private:
  mutable std::mutex mutex_; ///< the io_context may run on several threads
  std::vector<std::pair<std::string, std::unique_ptr<s3_connection>>> idle_; ///< by host
};

/// Fills status, error and etag from an answer: a non-2xx one's error is
/// S3's "Code: Message" when its body says them.
void read_s3_answer(const s3_response& answer, s3_result& result);
/// Why a request failed with `failure` (timeout, refused connection, ...).
std::string describe_s3_failure(std::exception_ptr failure);

} // namespace chatnode

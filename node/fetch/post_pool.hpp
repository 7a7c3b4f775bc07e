#pragma once
// POSTs to one URL over connections kept open between requests (the
// webhook receiver): a connection is taken from the idle ones or made
// (checked_connect: every address checked; TLS verified), used for one
// request at a time, and kept when the answer was read whole and the
// server keeps it open, up to `keep` idle ones. A kept connection the
// server closed meanwhile is found at the next write or read: the request
// is then made once more on a new connection (the receiver may see it
// twice; a POST here is at least once anyway). Everything runs on `io`,
// which one thread runs.

#include "node/fetch/outbound_post.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatnode {

struct request_target;

class post_pool : public std::enable_shared_from_this<post_pool> {
public:
  post_pool(boost::asio::io_context& io, boost::asio::ssl::context& tls, outbound_limits limits,
            std::size_t keep = 16);
  ~post_pool();

  /// Posts `request` (its url names the pool's one server); `done` runs once, on `io`.
  void post(outbound_post request, std::function<void(outbound_answer)> done);

  /// Connections made so far (each reused for as many requests as it lasts).
  std::uint64_t connections_made() const { return made_; }

private:
  /// A connection to the server: plain or TLS.
  struct link {
    std::unique_ptr<boost::beast::tcp_stream> plain;
    std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure;
  };

  boost::asio::awaitable<outbound_answer> send(outbound_post request);
  boost::asio::awaitable<link> open(const request_target& target,
                                    std::chrono::steady_clock::time_point until);

  boost::asio::io_context& io_;
  boost::asio::ssl::context& tls_;
  outbound_limits limits_;
  std::size_t keep_;
  std::string idle_origin_; ///< the server the idle links are to
  std::vector<link> idle_;
  std::uint64_t made_ = 0;
};

} // namespace chatnode

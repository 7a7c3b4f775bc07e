#include "node/fetch/post_pool.hpp"

#include "node/fetch/checked_connect.hpp"
#include "node/fetch/post_exchange.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

namespace chatnode {

namespace net = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;

post_pool::post_pool(net::io_context& io, net::ssl::context& tls, outbound_limits limits, std::size_t keep)
  : io_(io),
    tls_(tls),
    limits_(std::move(limits)),
    keep_(keep) {}

post_pool::~post_pool() = default;

net::awaitable<post_pool::link> post_pool::open(const request_target& t, clock::time_point until) {
  auto socket = co_await connect_checked(t, limits_.allow_private, until);
  ++made_;
  link l;
  if (!t.tls) {
    l.plain = std::make_unique<beast::tcp_stream>(std::move(socket));
    co_return l;
  }
  l.secure =
    std::make_unique<beast::ssl_stream<beast::tcp_stream>>(beast::tcp_stream{std::move(socket)}, tls_);
  beast::get_lowest_layer(*l.secure).expires_at(until);
  if (!SSL_set_tlsext_host_name(l.secure->native_handle(), t.host.c_str()))
    throw outbound_refused{"TLS: bad server name"};
  l.secure->set_verify_callback(net::ssl::host_name_verification{t.host});
  co_await l.secure->async_handshake(net::ssl::stream_base::client, net::use_awaitable);
  co_return l;
}

net::awaitable<outbound_answer> post_pool::send(outbound_post r) {
  auto until = clock::now() + limits_.deadline;
  auto t = std::optional<request_target>{post_target(r.url, limits_.allow_http)};
  if (t->origin != idle_origin_) {
    idle_.clear();
    idle_origin_ = t->origin;
  }
  for (int attempt = 0;; ++attempt) {
    bool reused = !idle_.empty() && attempt == 0;
    link l;
    if (reused) {
      l = std::move(idle_.back());
      idle_.pop_back();
    } else {
      l = co_await open(*t, until);
    }
    try {
      post_exchanged got;
      if (l.plain) {
        l.plain->expires_at(until);
        got = co_await post_exchange(*l.plain, *t, r, limits_.max_answer_body, true);
      } else {
        beast::get_lowest_layer(*l.secure).expires_at(until);
        got = co_await post_exchange(*l.secure, *t, r, limits_.max_answer_body, true);
      }
      if (got.reusable && idle_.size() < keep_) {
        if (l.plain)
          l.plain->expires_never();
        else
          beast::get_lowest_layer(*l.secure).expires_never();
        idle_.push_back(std::move(l));
      }
      co_return std::move(got.answer);
    } catch (const boost::system::system_error& e) {
      // A kept connection the server closed while it was idle: once more, on a new one.
      if (!reused || e.code() == beast::error::timeout)
        throw;
    }
  }
}

void post_pool::post(outbound_post request, std::function<void(outbound_answer)> done) {
  net::co_spawn(
    io_, send(std::move(request)),
    [self = shared_from_this(), done = std::move(done)](std::exception_ptr error, outbound_answer result) {
      if (error) {
        result = {};
        result.error = outbound_failure(error, "no answer in time");
        try {
          std::rethrow_exception(error);
        } catch (const outbound_refused&) {
          result.refused = true;
        } catch (...) {
        }
      }
      done(std::move(result));
    });
}

} // namespace chatnode

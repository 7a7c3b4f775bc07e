#include "node/fetch/outbound_post.hpp"

#include "node/fetch/checked_connect.hpp"
#include "node/fetch/post_exchange.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

namespace chatnode {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock = std::chrono::steady_clock;
using refused = outbound_refused;

net::awaitable<outbound_answer> post(net::ssl::context& tls, outbound_post r, outbound_limits limits,
                                     std::function<std::string(const std::string&)> check) {
  auto until = clock::now() + limits.deadline;
  auto t = std::optional<request_target>{post_target(r.url, limits.allow_http)};
  if (check)
    if (auto why = check(t->host); !why.empty())
      throw refused{why};
  auto socket = co_await connect_checked(*t, limits.allow_private, until);
  if (!t->tls) {
    beast::tcp_stream stream{std::move(socket)};
    stream.expires_at(until);
    co_return (co_await post_exchange(stream, *t, r, limits.max_answer_body, false)).answer;
  }
  beast::ssl_stream<beast::tcp_stream> stream{beast::tcp_stream{std::move(socket)}, tls};
  beast::get_lowest_layer(stream).expires_at(until);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), t->host.c_str()))
    throw refused{"TLS: bad server name"};
  stream.set_verify_callback(net::ssl::host_name_verification{t->host});
  co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
  co_return (co_await post_exchange(stream, *t, r, limits.max_answer_body, false)).answer;
}

} // namespace

request_target post_target(const std::string& url, bool allow_http) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    throw refused{"the URL is not a URL"};
  auto t = target_of(*parsed);
  if (!t || (!t->tls && !allow_http))
    throw refused{allow_http ? "the URL is not an http(s) URL with a host"
                             : "the URL is not an https URL with a host"};
  return *t;
}

void post_outbound(net::io_context& io, net::ssl::context& tls, outbound_post request,
                   const outbound_limits& limits, std::function<void(outbound_answer)> done,
                   std::function<std::string(const std::string&)> check) {
  net::co_spawn(io, post(tls, std::move(request), limits, std::move(check)),
                [done = std::move(done)](std::exception_ptr error, outbound_answer result) {
                  if (error) {
                    result = {};
                    try {
                      std::rethrow_exception(error);
                    } catch (const refused& r) {
                      result.error = r.why;
                      result.refused = true;
                    } catch (const boost::system::system_error& e) {
                      result.error =
                        e.code() == beast::error::timeout ? "no answer in time" : e.code().message();
                    } catch (const std::exception& e) {
                      result.error = e.what();
                    }
                  }
                  done(std::move(result));
                });
}

} // namespace chatnode

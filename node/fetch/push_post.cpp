#include "node/fetch/push_post.hpp"

#include "node/fetch/checked_connect.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
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

/// Bytes of an answer's body read, at most: push services answer 201 with
/// none, errors with a line or two.
constexpr std::size_t max_answer_body = 16 * 1024;

using refused = outbound_refused;

template <class Stream>
net::awaitable<push_post_result> exchange(Stream& stream, const request_target& t,
                                          const push_post_request& r) {
  http::request<http::string_body> req{http::verb::post, t.path, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "chatnode-push/" CHATNODE_VERSION);
  req.set(http::field::content_type, "application/octet-stream");
  req.set(http::field::content_encoding, "aes128gcm");
  req.set(http::field::authorization, r.authorization);
  req.set("TTL", std::to_string(r.ttl));
  if (!r.urgency.empty())
    req.set("Urgency", r.urgency);
  if (!r.topic.empty())
    req.set("Topic", r.topic);
  req.body() = r.body;
  req.prepare_payload();
  co_await http::async_write(stream, req, net::use_awaitable);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_answer_body);
  boost::system::error_code ec;
  co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  // The status is what counts: an answer whose body is long or cut still said it.
  if (ec && !parser.is_header_done())
    throw boost::system::system_error{ec};
  push_post_result out;
  out.status = static_cast<int>(parser.get().result_int());
  out.retry_after =
    retry_after_seconds(parser.get()[http::field::retry_after], std::chrono::system_clock::now());
  co_return out;
}

net::awaitable<push_post_result> post(net::ssl::context& tls, push_post_request r, push_post_limits limits) {
  auto until = clock::now() + limits.deadline;
  auto parsed = boost::urls::parse_uri(r.endpoint);
  if (!parsed)
    throw refused{"the endpoint is not a URL"};
  auto t = target_of(*parsed);
  if (!t || (!t->tls && !limits.allow_http))
    throw refused{limits.allow_http ? "the endpoint is not an http(s) URL with a host"
                                    : "the endpoint is not an https URL with a host"};
  if (!push_host_allowed(t->host, limits.allowed_hosts))
    throw refused{"the push service's host is not in [push] allowed_hosts"};
  auto socket = co_await connect_checked(*t, limits.allow_private, until);
  if (!t->tls) {
    beast::tcp_stream stream{std::move(socket)};
    stream.expires_at(until);
    co_return co_await exchange(stream, *t, r);
  }
  beast::ssl_stream<beast::tcp_stream> stream{beast::tcp_stream{std::move(socket)}, tls};
  beast::get_lowest_layer(stream).expires_at(until);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), t->host.c_str()))
    throw refused{"TLS: bad server name"};
  stream.set_verify_callback(net::ssl::host_name_verification{t->host});
  co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
  co_return co_await exchange(stream, *t, r);
}

} // namespace

std::string push_audience(const std::string& endpoint) {
  auto parsed = boost::urls::parse_uri(endpoint);
  if (!parsed)
    return {};
  auto t = target_of(*parsed);
  return t ? t->origin : std::string{};
}

bool push_host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  if (allowed.empty())
    return true;
  for (const auto& a : allowed)
    if (beast::iequals(a, host))
      return true;
  return false;
}

void post_push(net::io_context& io, net::ssl::context& tls, push_post_request request,
               const push_post_limits& limits, std::function<void(push_post_result)> done) {
  net::co_spawn(io, post(tls, std::move(request), limits),
                [done = std::move(done)](std::exception_ptr error, push_post_result result) {
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

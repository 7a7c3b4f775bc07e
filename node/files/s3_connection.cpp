#include "node/files/s3_connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace chatnode {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;

template <class Stream>
net::awaitable<void> write_whole(Stream& stream, http::request<http::string_body>& request) {
  co_await http::async_write(stream, request, net::use_awaitable);
}

template <class Stream>
net::awaitable<void> write_header(Stream& stream, s3_connection::streamed_request& serializer) {
  co_await http::async_write_header(stream, serializer, net::use_awaitable);
}

template <class Stream>
net::awaitable<void> write_body(Stream& stream, s3_connection::streamed_request& serializer) {
  boost::system::error_code ec;
  co_await http::async_write(stream, serializer, net::redirect_error(net::use_awaitable, ec));
  // need_buffer: what the body held is sent and more is to come.
  if (ec && ec != http::error::need_buffer)
    throw boost::system::system_error{ec};
}

template <class Stream>
net::awaitable<s3_response> read_answer(Stream& stream, beast::flat_buffer& buffer, bool head,
                                        std::size_t max_body) {
  http::response_parser<http::string_body> parser;
  parser.skip(head); // a HEAD's answer names a length but carries no body
  // The parser checks Content-Length against its limit as the header is
  // read, before the status says which limit applies: the larger then,
  // the right one once the status is known.
  parser.body_limit(std::max(max_body, s3_connection::max_small_body));
  co_await http::async_read_header(stream, buffer, parser, net::use_awaitable);
  auto limit = parser.get().result_int() / 100 == 2 ? max_body : s3_connection::max_small_body;
  auto length = parser.content_length();
  if (!head && length && *length > limit)
    throw boost::system::system_error{http::error::body_limit};
  if (!parser.is_done())
    co_await http::async_read(stream, buffer, parser, net::use_awaitable);
  if (parser.get().body().size() > limit)
    throw boost::system::system_error{http::error::body_limit};
  auto message = parser.release();
  s3_response out;
  out.keep_alive = message.keep_alive();
  out.body = std::move(message.body());
  out.header = std::move(message.base());
  co_return out;
}

} // namespace

s3_connection::s3_connection(plain_stream stream)
  : stream_{std::in_place_type<plain_stream>, std::move(stream)} {}

s3_connection::s3_connection(tls_stream stream)
  : stream_{std::in_place_type<tls_stream>, std::move(stream)} {}

net::awaitable<std::unique_ptr<s3_connection>> s3_connection::open(const s3_endpoint& endpoint,
                                                                   const std::string& host,
                                                                   net::ssl::context* tls,
                                                                   clock::time_point until) {
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver{executor};
  // The resolver knows no deadline: a timer races it.
  net::steady_timer deadline{executor, until};
  auto resolved = co_await (resolver.async_resolve(host, endpoint.port, net::use_awaitable) ||
                            deadline.async_wait(net::use_awaitable));
  if (resolved.index() == 1)
    throw boost::system::system_error{beast::error::timeout};
  auto addresses = std::get<0>(std::move(resolved));
  beast::tcp_stream stream{executor};
  stream.expires_at(until);
  co_await stream.async_connect(addresses, net::use_awaitable);
  stream.socket().set_option(tcp::no_delay{true});
  if (!endpoint.tls || !tls)
    co_return std::make_unique<s3_connection>(std::move(stream));
  tls_stream secure{std::move(stream), *tls};
  if (!SSL_set_tlsext_host_name(secure.native_handle(), host.c_str()))
    throw std::runtime_error{"TLS: bad server name"};
  secure.set_verify_callback(net::ssl::host_name_verification{host});
  co_await secure.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
  co_return std::make_unique<s3_connection>(std::move(secure));
}

beast::tcp_stream& s3_connection::tcp() {
  return std::visit([](auto& stream) -> beast::tcp_stream& { return beast::get_lowest_layer(stream); },
                    stream_);
}

void s3_connection::expires_at(clock::time_point until) {
  tcp().expires_at(until);
}

void s3_connection::expires_never() {
  tcp().expires_never();
}

net::awaitable<void> s3_connection::send(http::request<http::string_body>& request) {
  co_await std::visit([&](auto& stream) { return write_whole(stream, request); }, stream_);
}

net::awaitable<void> s3_connection::send_header(streamed_request& serializer) {
  co_await std::visit([&](auto& stream) { return write_header(stream, serializer); }, stream_);
}

net::awaitable<void> s3_connection::send_body(streamed_request& serializer) {
  co_await std::visit([&](auto& stream) { return write_body(stream, serializer); }, stream_);
}

net::awaitable<s3_response> s3_connection::receive(bool head, std::size_t max_body) {
  co_return co_await std::visit([&](auto& stream) { return read_answer(stream, buffer_, head, max_body); },
                                stream_);
}

bool s3_connection::unusable() {
  char byte;
  auto got = ::recv(tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

} // namespace chatnode

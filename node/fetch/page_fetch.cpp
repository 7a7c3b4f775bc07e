#include "node/fetch/page_fetch.hpp"

#include "node/fetch/checked_connect.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <optional>

namespace chatnode {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

using refused = outbound_refused;

/// What is fetched: its Accept header and the content types taken.
struct wanted {
  fetch_kind kind;
  const char* accept() const {
    switch (kind) {
      case fetch_kind::page: return "text/html";
      case fetch_kind::json: return "application/json";
      case fetch_kind::image: break;
    }
    return "image/*";
  }
  const char* user_agent() const {
    return kind == fetch_kind::json ? "chatnode/" CHATNODE_VERSION : "chatnode-preview/" CHATNODE_VERSION;
  }
  bool takes(std::string_view content_type) const {
    auto type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && type.back() == ' ')
      type.remove_suffix(1);
    if (kind == fetch_kind::page)
      return beast::iequals(type.substr(0, 9), "text/html");
    if (kind == fetch_kind::json)
      return beast::iequals(type, "application/json") ||
             (type.size() > 5 && beast::iequals(type.substr(0, 12), "application/") &&
              beast::iequals(type.substr(type.size() - 5), "+json"));
    for (std::string_view image : {"image/png", "image/jpeg", "image/gif", "image/webp"})
      if (beast::iequals(type, image))
        return true;
    return false;
  }
};

/// A response's header and what was read of its body.
struct answer {
  http::response_header<> header;
  std::string body;
  bool whole = false; ///< the body ended within the limit
};

/// One GET over `stream`.
template <class Stream>
net::awaitable<answer> get(Stream& stream, const request_target& t, const fetch_limits& limits, wanted what) {
  http::request<http::empty_body> req{http::verb::get, t.path, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, what.user_agent());
  req.set(http::field::accept, what.accept());
  req.set(http::field::accept_encoding, "identity");
  co_await http::async_write(stream, req, net::use_awaitable);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  co_await http::async_read_header(stream, buffer, parser, net::use_awaitable);
  answer out{parser.get().base(), {}, false};
  if (parser.get().result_int() / 100 != 2 || !what.takes(out.header[http::field::content_type]))
    co_return out;
  char chunk[16 * 1024];
  while (!parser.is_done() && out.body.size() < limits.max_bytes) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    boost::system::error_code ec;
    co_await http::async_read_some(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec && ec != http::error::need_buffer)
      break; // what came is used
    auto got = sizeof chunk - parser.get().body().size;
    auto room = limits.max_bytes - out.body.size();
    out.body.append(chunk, std::min(got, room));
    if (got > room)
      co_return out; // cut at the limit: not whole
  }
  out.whole = parser.is_done();
  co_return out;
}

net::awaitable<fetch_result> fetch(net::ssl::context& tls, std::string url_text, fetch_limits limits,
                                   wanted what) {
  fetch_result out;
  auto until = clock::now() + limits.deadline;
  auto parsed = boost::urls::parse_uri(url_text);
  if (!parsed)
    throw refused{"not a URL"};
  boost::urls::url url{*parsed};
  for (int hop = 0;; ++hop) {
    auto t = target_of(url);
    if (!t)
      throw refused{"only http and https URLs with a host are fetched"};
    auto socket = co_await connect_checked(*t, limits.allow_private, until);
    answer got;
    if (t->tls) {
      beast::ssl_stream<beast::tcp_stream> stream{beast::tcp_stream{std::move(socket)}, tls};
      beast::get_lowest_layer(stream).expires_at(until);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), t->host.c_str()))
        throw refused{"TLS: bad server name"};
      stream.set_verify_callback(net::ssl::host_name_verification{t->host});
      co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
      got = co_await get(stream, *t, limits, what);
    } else {
      beast::tcp_stream stream{std::move(socket)};
      stream.expires_at(until);
      got = co_await get(stream, *t, limits, what);
    }
    auto& header = got.header;
    auto status = header.result_int();
    if (status >= 300 && status < 400 && header.count(http::field::location)) {
      if (hop == limits.max_redirects)
        throw refused{"too many redirects"};
      auto next = boost::urls::parse_uri_reference(header[http::field::location]);
      if (!next)
        throw refused{"a redirect to something that is not a URL"};
      boost::urls::url resolved;
      if (!boost::urls::resolve(url, *next, resolved))
        throw refused{"a redirect that does not resolve"};
      url = resolved;
      continue;
    }
    if (status / 100 != 2)
      throw refused{"status " + std::to_string(status)};
    out.content_type = header[http::field::content_type];
    if (!what.takes(out.content_type))
      throw refused{what.kind == fetch_kind::page   ? "not text/html"
                    : what.kind == fetch_kind::json ? "not application/json"
                                                    : "not a PNG, JPEG, GIF or WebP image"};
    if (what.kind != fetch_kind::page && !got.whole)
      throw refused{std::string{what.kind == fetch_kind::json ? "a document" : "an image"} + " larger than " +
                    std::to_string(limits.max_bytes) + " bytes, or cut off"};
    out.url = url.buffer();
    out.body = std::move(got.body);
    co_return out;
  }
}

} // namespace

void fetch_url(net::io_context& io, net::ssl::context& tls, std::string url, const fetch_limits& limits,
               fetch_kind kind, std::function<void(fetch_result)> done) {
  net::co_spawn(io, fetch(tls, std::move(url), limits, wanted{kind}),
                [done = std::move(done)](std::exception_ptr error, fetch_result result) {
                  if (error) {
                    result = {};
                    result.error = outbound_failure(error, "too slow");
                  }
                  done(std::move(result));
                });
}

net::ssl::context make_client_tls() {
  net::ssl::context tls{net::ssl::context::tls_client};
  tls.set_default_verify_paths();
  tls.set_verify_mode(net::ssl::verify_peer);
  return tls;
}

} // namespace chatnode

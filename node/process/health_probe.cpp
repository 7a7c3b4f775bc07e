#include "node/process/health_probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <optional>

namespace chatnode {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct http_url {
  std::string host;
  std::string port;
  std::string target;
};

std::optional<http_url> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    return std::nullopt;
  url.remove_prefix(scheme.size());
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  http_url out{std::string{authority}, "80",
               slash == std::string_view::npos ? "/" : std::string{url.substr(slash)}};
  if (auto colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    out.host = std::string{authority.substr(0, colon)};
    out.port = std::string{authority.substr(colon + 1)};
  }
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty() || out.port.empty())
    return std::nullopt;
  return out;
}

} // namespace

outcome<> probe_health(const std::string& url, std::chrono::milliseconds timeout) {
  auto parsed = parse_http_url(url);
  if (!parsed) {
    return "not an http://host:port/path URL: " + url;
  }
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  http::request<http::empty_body> req{http::verb::get, parsed->target, 11};
  req.set(http::field::host, parsed->host + ":" + parsed->port);
  req.set(http::field::connection, "close");
  http::response<http::string_body> res;
  beast::error_code failure;
  // One deadline over resolving, connecting, writing and reading.
  asio::ip::tcp::resolver resolver{ioc};
  stream.expires_after(timeout);
  resolver.async_resolve(
    parsed->host, parsed->port, [&](beast::error_code e, asio::ip::tcp::resolver::results_type found) {
      if (e)
        return void(failure = e);
      stream.async_connect(found, [&](beast::error_code e, const asio::ip::tcp::endpoint&) {
        if (e)
          return void(failure = e);
        http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
          if (e)
            return void(failure = e);
          http::async_read(stream, buffer, res, [&](beast::error_code e, std::size_t) { failure = e; });
        });
      });
    });
  ioc.run_for(timeout + std::chrono::milliseconds{100});
  if (!ioc.stopped()) {
    return std::string{"no answer in time"};
  }
  if (failure) {
    return failure.message();
  }
  if (res.result() != http::status::ok) {
    return "answered " + std::to_string(res.result_int());
  }
  return std::monostate{};
}

} // namespace chatnode

#pragma once
// One POST and its answer over a connection already made (plain or TLS):
// what outbound_post and post_pool share. Of the answer, the status,
// Retry-After and a bounded body are read; whether the connection can carry
// another request after it is said too.

#include "node/fetch/checked_connect.hpp"
#include "node/fetch/outbound_post.hpp"
#include "node/fetch/retry_after.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace chatnode {

struct post_exchanged {
  outbound_answer answer;
  bool reusable = false; ///< the answer was read whole and the server keeps the connection open
};

/// Writes the request (keep-alive or not) and reads its answer; network
/// errors before the answer's header are thrown (boost::system::system_error).
template <class Stream>
boost::asio::awaitable<post_exchanged> post_exchange(Stream& stream, const request_target& t,
                                                     const outbound_post& r, std::size_t max_body,
                                                     bool keep_alive) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  http::request<http::string_body> req{http::verb::post, t.path, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, r.user_agent);
  req.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers)
    req.set(name, value);
  req.keep_alive(keep_alive);
  req.body() = r.body;
  req.prepare_payload();
  co_await http::async_write(stream, req, net::use_awaitable);

  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  boost::system::error_code ec;
  co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  // The status is what counts: an answer whose body is long or cut still said it.
  if (ec && !parser.is_header_done())
    throw boost::system::system_error{ec};
  post_exchanged out;
  out.answer.status = static_cast<int>(parser.get().result_int());
  out.answer.retry_after =
    retry_after_seconds(parser.get()[http::field::retry_after], std::chrono::system_clock::now());
  if (!ec) {
    out.reusable = keep_alive && parser.get().keep_alive() && buffer.size() == 0;
    out.answer.body = std::move(parser.get().body());
  } else {
    out.answer.body_cut = true;
  }
  co_return out;
}

} // namespace chatnode

#pragma once
// The small responses every HTTP handler of the edge writes: headers all of
// them carry, and a short text (or JSON) body.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace chatnode {

/// Server and X-Content-Type-Options: nosniff.
template <class Body>
void common_headers(boost::beast::http::response<Body>& res) {
  res.set(boost::beast::http::field::server, "chatnode/" CHATNODE_VERSION);
  res.set("X-Content-Type-Options", "nosniff");
}

/// What a response must echo of its request.
struct response_shape {
  unsigned version = 11;
  bool keep_alive = false;
  bool head = false; ///< a HEAD request: headers only
};

template <class Body, class Fields>
response_shape shape_of(const boost::beast::http::request<Body, Fields>& req) {
  return {req.version(), req.keep_alive(), req.method() == boost::beast::http::verb::head};
}

/// A response with a small body, never cached.
boost::beast::http::message_generator text_response(const response_shape& shape,
                                                    boost::beast::http::status status, std::string body,
                                                    std::string_view type = "text/plain; charset=utf-8");

/// The same, shaped after its request.
template <class Body, class Fields>
boost::beast::http::message_generator text_response(const boost::beast::http::request<Body, Fields>& req,
                                                    boost::beast::http::status status, std::string body,
                                                    std::string_view type = "text/plain; charset=utf-8") {
  return text_response(shape_of(req), status, std::move(body), type);
}

} // namespace chatnode

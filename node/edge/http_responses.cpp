#include "node/edge/http_responses.hpp"

namespace chatnode {

namespace http = boost::beast::http;

http::message_generator text_response(const response_shape& shape, http::status status, std::string body,
                                      std::string_view type) {
  http::response<http::string_body> res{status, shape.version};
  common_headers(res);
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(shape.keep_alive);
  if (shape.head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

} // namespace chatnode

#include "node/process/jwks_source.hpp"

namespace chatnode {

jwks_source::jwks_source(boost::asio::io_context& io)
  : io_(io),
    tls_(make_client_tls()) {
  limits_.max_bytes = 128 * 1024;
  limits_.deadline = std::chrono::seconds{5};
  limits_.max_redirects = 3;
  limits_.allow_private = allowed_networks::all_private();
}

void jwks_source::fetch(const std::string& url,
                        std::function<void(std::string body, std::string error)> done) {
  auto self = shared_from_this();
  fetch_url(io_, tls_, url, limits_, fetch_kind::json, [self, done = std::move(done)](fetch_result got) {
    if (!got.error.empty())
      done({}, std::move(got.error));
    else if (!got.url.starts_with("https://"))
      done({}, "redirected to a URL that is not https");
    else
      done(std::move(got.body), {});
  });
}

} // namespace chatnode

#pragma once
// Fetches a page someone else linked, for its preview, and the page's
// image: an http(s) GET that connects only to addresses the policy allows
// (address_policy.hpp), each name resolved once and the connection made to
// the address checked, following at most a few redirects, each checked the
// same way, reading at most a bounded number of bytes within a deadline,
// and only text/html (or, for the image, only PNG, JPEG, GIF and WebP).
// Asynchronous on the given executor's io_context: nothing blocks a thread.

#include "node/fetch/allowed_networks.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace chatnode {

struct fetch_limits {
  std::size_t max_bytes = 1024 * 1024;      ///< of the body; more is not read (what came is used)
  std::chrono::milliseconds deadline{5000}; ///< for the whole fetch, redirects included
  int max_redirects = 3;
  allowed_networks allow_private; ///< private networks it may reach (see refused_address)
};

struct fetch_result {
  std::string error;        ///< empty on success: why nothing usable came
  std::string url;          ///< the page's URL after redirects
  std::string content_type; ///< the response's
  std::string body;         ///< at most max_bytes
};

/// What a fetch takes: a page (text/html, its first max_bytes used), a
/// page's image (PNG, JPEG, GIF or WebP, whole within max_bytes), or (1.2)
/// a JSON document the operator named (application/json or a +json type,
/// whole within max_bytes: an identity provider's JWKS).
enum class fetch_kind { page, image, json };

/// Starts a fetch of `url`; `done` runs once, on `io`. `tls` verifies
/// servers (the system's CAs, or a test's).
void fetch_url(boost::asio::io_context& io, boost::asio::ssl::context& tls, std::string url,
               const fetch_limits& limits, fetch_kind kind, std::function<void(fetch_result)> done);

inline void fetch_page(boost::asio::io_context& io, boost::asio::ssl::context& tls, std::string url,
                       const fetch_limits& limits, std::function<void(fetch_result)> done) {
  fetch_url(io, tls, std::move(url), limits, fetch_kind::page, std::move(done));
}

/// A TLS client context that verifies peers against the system's CAs.
boost::asio::ssl::context make_client_tls();

} // namespace chatnode

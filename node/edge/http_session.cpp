#include "node/edge/http_session.hpp"

#include "node/edge/edge_stats.hpp"
#include "node/edge/http_responses.hpp"
#include "node/edge/openapi_document.hpp"
#include "node/process/log.hpp"
#include "node/process/metrics.hpp"
#include "node/edge/origin_policy.hpp"
#include "node/edge/static_files.hpp"
#include "node/edge/file_download.hpp"
#include "node/edge/file_stream.hpp"
#include "node/edge/upload_receiver.hpp"
#include "node/edge/websocket_session.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <filesystem>

namespace chatnode {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto write_timeout = 30s;
/// How long a refused upload's remaining body is read and dropped.
constexpr auto linger_timeout = 5s;
constexpr std::uint64_t body_limit = 16 * 1024;

constexpr const char* security_policy =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
  "style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'";

using request = http::request<http::string_body>;

/// A weak validator from size and modification time.
std::string entity_tag(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return "\"" + std::to_string(size) + "-" + std::to_string(mtime) + "\"";
}

http::message_generator static_response(const request& req, const fs::path& root) {
  auto path = resolve_static_path(root, req.target());
  if (!path)
    return text_response(req, http::status::not_found, "not found\n");
  auto tag = entity_tag(*path);
  auto type = mime_type(path->string());
  if (req[http::field::if_none_match] == tag) {
    http::response<http::empty_body> res{http::status::not_modified, req.version()};
    common_headers(res);
    res.set(http::field::etag, tag);
    res.keep_alive(req.keep_alive());
    return res;
  }
  beast::error_code ec;
  http::file_body::value_type file;
  file.open(path->c_str(), beast::file_mode::scan, ec);
  if (ec)
    return text_response(req, http::status::not_found, "not found\n");
  auto size = file.size();
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                      std::make_tuple(http::status::ok, req.version())};
  common_headers(res);
  res.set(http::field::content_type, type);
  // Revalidate every time: the ETag makes that a cheap 304, and a new
  // client build is picked up at once.
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, tag);
  if (type.starts_with("text/html"))
    res.set("Content-Security-Policy", security_policy);
  res.keep_alive(req.keep_alive());
  res.content_length(size);
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> head{http::status::ok, req.version()};
    for (const auto& field : res)
      head.set(field.name_string(), field.value());
    head.keep_alive(req.keep_alive());
    return head;
  }
  return res;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

} // namespace

http_session::http_session(net::ip::tcp::socket&& socket, edge_context& ctx, connection_slot slot,
                           io_worker& worker)
  : stream_(std::move(socket)),
    ctx_(ctx),
    worker_(worker),
    slot_(std::move(slot)) {}

void http_session::run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void http_session::do_read() {
  header_parser_.emplace();
  header_parser_->header_limit(ctx_.max_header_bytes);
  // The body's limit depends on what the headers ask for: set after them.
  header_parser_->body_limit(boost::none);
  // A slow request (slowloris) is cut off.
  stream_.expires_after(ctx_.header_timeout);
  http::async_read_header(
    stream_, buffer_, *header_parser_,
    [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_header(ec, n); });
}

void http_session::on_header(beast::error_code ec, std::size_t n) {
  if (ec) {
    on_read(ec, n);
    return;
  }
  const auto& head = header_parser_->get();
  if (head.method() == http::verb::put && path_of(head.target()).starts_with(upload_prefix) && ctx_.uploads) {
    receive_upload();
    return;
  }
  // Everything else has a small body (the API's JSON) or none. The limit
  // is checked here: Beast checks a Content-Length only as headers end.
  if (auto length = header_parser_->content_length(); length && *length > body_limit) {
    on_read(http::error::body_limit, n);
    return;
  }
  parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  parser_->body_limit(body_limit);
  http::async_read(
    stream_, buffer_, *parser_,
    [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void http_session::receive_upload() {
  auto receiver = std::make_shared<upload_receiver>(
    stream_, buffer_, *header_parser_, *ctx_.uploads,
    [self = shared_from_this()](std::optional<http::message_generator> answer, bool keep_alive) {
      if (!answer) {
        self->do_close();
        return;
      }
      keep_alive = keep_alive && !self->ctx_.stopping.load();
      if (keep_alive) {
        self->respond(std::move(*answer), true);
        return;
      }
      // A refused body may still be on its way: answer, then read and drop
      // it for a while, so that the client reads the answer, not a reset.
      self->stream_.expires_after(write_timeout);
      beast::async_write(self->stream_, std::move(*answer), [self](beast::error_code e, std::size_t) {
        if (e) {
          self->do_close();
          return;
        }
        self->linger();
      });
    });
  header_parser_.reset();
  receiver->run();
}

void http_session::linger() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.expires_after(linger_timeout);
  buffer_.consume(buffer_.size());
  stream_.async_read_some(buffer_.prepare(16384),
                          [self = shared_from_this()](beast::error_code e, std::size_t) {
                            if (e)
                              return; // closed by the client, or the time is up: the socket closes with us
                            self->linger_more();
                          });
}

void http_session::linger_more() {
  stream_.async_read_some(buffer_.prepare(16384),
                          [self = shared_from_this()](beast::error_code e, std::size_t) {
                            if (!e)
                              self->linger_more();
                          });
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == beast::error::timeout && buffer_.size() > 0)
    ctx_.stats.count_limit(limit::header_timeout); // a request begun and never finished
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    do_close();
    return;
  }
  if (ec == http::error::header_limit)
    ctx_.stats.count_limit(limit::header_size);
  if (ec) {
    // A malformed or oversized request: answer 400 (431 for headers) and close.
    request dummy;
    dummy.version(11);
    dummy.keep_alive(false);
    auto status = ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                  : http::status::bad_request;
    auto res = text_response(dummy, status, "bad request\n");
    stream_.expires_after(write_timeout);
    beast::async_write(
      stream_, std::move(res),
      [self = shared_from_this()](beast::error_code e, std::size_t n) { self->on_write(false, e, n); });
    return;
  }
  auto req = parser_->release();
  if (path_of(req.target()) == "/ws" && beast::websocket::is_upgrade(req)) {
    if (try_upgrade(req))
      return;
  } else if (path_of(req.target()).starts_with("/api/") && ctx_.api_keys && !ctx_.api_keys->empty()) {
    handle_api(std::move(req));
  } else if (path_of(req.target()).starts_with(files_prefix) && ctx_.uploads &&
             (req.method() == http::verb::get || req.method() == http::verb::head)) {
    serve_file(req);
  } else {
    auto keep_alive = req.keep_alive() && !ctx_.stopping.load();
    respond(handle(req), keep_alive);
  }
}

void http_session::respond(http::message_generator res, bool keep_alive) {
  stream_.expires_after(write_timeout);
  beast::async_write(stream_, std::move(res),
                     [self = shared_from_this(), keep_alive](beast::error_code e, std::size_t n) {
                       self->on_write(keep_alive, e, n);
                     });
}

void http_session::handle_api(request req) {
  auto keep_alive = req.keep_alive() && !ctx_.stopping.load();
  auto json_response = [&req](http::status status, std::string body) {
    return text_response(req, status, std::move(body), "application/json");
  };
  // (1.2) The API's description is public: it tells how to use the key, not the key.
  if (path_of(req.target()) == "/api/openapi.json" &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    respond(json_response(http::status::ok, std::string{openapi_document()}), keep_alive);
    return;
  }
  // The key, compared in constant time; nothing else is looked at without it.
  const auto* caller = ctx_.api_keys->match(req[http::field::authorization]);
  if (caller == nullptr) {
    auto res = json_response(http::status::unauthorized, "{\"error\":\"a valid API key is required\"}\n");
    ctx_.stats.count_limit(limit::api_key);
    respond(std::move(res), keep_alive);
    return;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    respond(json_response(http::status::method_not_allowed, "{\"error\":\"GET or POST\"}\n"), keep_alive);
    return;
  }
  if (!ctx_.call_api) { // shutting down
    respond(json_response(http::status::service_unavailable, "{\"error\":\"the node is stopping\"}\n"),
            false);
    return;
  }
  api_request call{std::string{req.method_string()}, std::string{path_of(req.target())}, req.body(), *caller};
  auto version = req.version();
  // The answer comes on an actor thread: it is written from the socket's own.
  ctx_.call_api(std::move(call), [self = shared_from_this(), version, keep_alive](api_response answer) {
    net::post(self->stream_.get_executor(),
              [self, version, keep_alive, answer = std::move(answer)]() mutable {
                request shape;
                shape.version(version);
                shape.keep_alive(keep_alive);
                self->respond(text_response(shape, static_cast<http::status>(answer.status),
                                            std::move(answer.body), "application/json"),
                              keep_alive);
              });
  });
}

void http_session::serve_file(const request& req) {
  ctx_.stats.files.downloads.fetch_add(1, std::memory_order_relaxed);
  auto keep_alive = req.keep_alive() && !ctx_.stopping.load();
  // The store may answer on another thread: the answer is written from the socket's own.
  file_download(req, path_of(req.target()), *ctx_.uploads->store, ctx_.stats.files.store_errors,
                [self = shared_from_this(), keep_alive](download_answer answer) {
                  net::post(
                    self->stream_.get_executor(), [self, keep_alive, answer = std::move(answer)]() mutable {
                      if (answer.whole) {
                        self->respond(std::move(*answer.whole), keep_alive);
                        return;
                      }
                      auto& store = *self->ctx_.uploads->store;
                      std::make_shared<file_stream>(self->stream_, store, self->ctx_.stats.files.store_errors,
                                                    std::move(answer),
                                                    [self, keep_alive](bool whole) {
                                                      if (whole && keep_alive)
                                                        self->do_read();
                                                      else
                                                        self->do_close();
                                                    })
                        ->run();
                    });
                });
}

bool http_session::try_upgrade(request& req) {
  auto refuse = [&](http::status status, std::string reason) {
    ctx_.stats.connections_refused.fetch_add(1, std::memory_order_relaxed);
    log::info("upgrade_refused", {{"reason", reason}, {"origin", std::string{req[http::field::origin]}}});
    auto res = text_response(req, status, reason + "\n");
    stream_.expires_after(write_timeout);
    beast::async_write(
      stream_, std::move(res),
      [self = shared_from_this()](beast::error_code e, std::size_t n) { self->on_write(false, e, n); });
    return false;
  };
  auto origin = req[http::field::origin];
  if (origin.empty() ? !ctx_.allow_missing_origin
                     : !origin_allowed(origin, req[http::field::host], ctx_.allowed_origins)) {
    ctx_.stats.count_limit(limit::origin);
    return refuse(http::status::forbidden, "origin not allowed");
  }
  if (req[http::field::sec_websocket_version] != "13")
    return refuse(http::status::upgrade_required, "WebSocket version 13 required");
  if (req[http::field::sec_websocket_key].size() != 24) // base64 of 16 bytes
    return refuse(http::status::bad_request, "bad Sec-WebSocket-Key");
  if (ctx_.stopping.load())
    return refuse(http::status::service_unavailable, "node is shutting down");
  if (static_cast<std::size_t>(ctx_.stats.connections.load()) >= ctx_.max_connections) {
    ctx_.stats.count_limit(limit::connections);
    return refuse(http::status::service_unavailable, "too many connections");
  }
  stream_.expires_never();
  std::make_shared<websocket_session>(stream_.release_socket(), ctx_, std::move(slot_), worker_)
    ->run(std::move(req));
  return true;
}

http::message_generator http_session::handle(const request& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed, "method not allowed\n");
    return res;
  }
  auto path = path_of(req.target());
  if (path == "/healthz")
    return text_response(req, http::status::ok, "ok\n");
  if (path == "/readyz") {
    auto reason = ctx_.not_ready_reason();
    if (reason.empty()) {
      // Ready while any shard answers; the body names the ones that do not.
      std::string down;
      for (const auto& shard : ctx_.redis_shards ? ctx_.redis_shards() : std::vector<shard_state>{})
        if (!shard.up)
          down += (down.empty() ? "" : ", ") + shard.master;
      // The archive is not needed to chat: it is named, not a reason to leave the balancer.
      std::string body = down.empty() ? "ready" : "ready; redis shards unreachable: " + down;
      if (ctx_.archive_configured && !ctx_.chat->archive_up.load())
        body += "; archive unreachable (history past retention and search unavailable)";
      // Nor is the file store: uploads wait for it, chat goes on.
      if (ctx_.files_configured && !ctx_.stats.files.store_up.load())
        body += "; file store unreachable (uploads unavailable)";
      return text_response(req, http::status::ok, body + "\n");
    }
    return text_response(req, http::status::service_unavailable, reason + "\n");
  }
  if (path == "/metrics") {
    node_status status{ctx_.not_ready_reason().empty(), ctx_.redis_configured,
                       ctx_.redis_shards ? ctx_.redis_shards() : std::vector<shard_state>{},
                       ctx_.archive_configured};
    return text_response(req, http::status::ok, render_metrics(*ctx_.chat, ctx_.stats, status),
                         "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/ws")
    return text_response(req, http::status::upgrade_required, "WebSocket upgrade required\n");
  return static_response(req, ctx_.web_root);
}

void http_session::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec || !keep_alive) {
    do_close();
    return;
  }
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

} // namespace chatnode

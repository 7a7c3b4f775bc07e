#pragma once
// One HTTP connection: serves static files, /healthz, /readyz and /metrics;
// streams uploads into the file store and serves stored files; hands /ws
// upgrades to a WebSocket session after the Origin check, and /api/
// requests with the right key to the server API.

#include "node/edge/edge_context.hpp"
#include "node/edge/io_pool.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

namespace chatnode {

class http_session : public std::enable_shared_from_this<http_session> {
public:
  /// `worker` runs the socket; an upgraded connection stays on it.
  http_session(boost::asio::ip::tcp::socket&& socket, edge_context& ctx, connection_slot slot,
               io_worker& worker);

  void run();

private:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  void do_read();
  /// Headers first: an upload's body is streamed, everything else read whole.
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void receive_upload();
  /// After a refusal: reads and drops what the client still sends, for a while.
  void linger();
  void linger_more();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  /// Answers a plain HTTP request.
  boost::beast::http::message_generator handle(const request& req);
  /// Checks and performs a WebSocket upgrade; false when refused (answered).
  bool try_upgrade(request& req);
  /// A stored file or thumbnail, once the store has described it.
  void serve_file(const request& req);
  /// Checks the key of a server API request and has the API actor answer it.
  void handle_api(request req);
  /// Writes a response and goes on with the connection (or closes it).
  void respond(boost::beast::http::message_generator res, bool keep_alive);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  edge_context& ctx_;
  io_worker& worker_;
  connection_slot slot_; ///< handed on to the WebSocket session on upgrade
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
};

} // namespace chatnode

#pragma once
// `PUT /files/upload/<ticket>`: the bytes of an upload, streamed into the
// file store as they arrive (one 64 KiB buffer per upload, whatever the
// file's size: the next read waits for the store to take the last one),
// checked against what the `upload` request announced. Nothing is kept of
// an upload that fails: too long (413), too short (400), a client gone
// halfway, a store that refuses (507).

#include "actors/contracts/upload_secret.hpp"
#include "actors/contracts/upload_ticket.hpp"
#include "node/files/file_store.hpp"
#include "node/edge/edge_stats.hpp"
#include "node/files/image_workers.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>

#include <openssl/evp.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chatnode {

inline constexpr std::string_view upload_prefix = "/files/upload/";

/// What an upload needs from the node.
struct upload_settings {
  file_store* store = nullptr;
  std::shared_ptr<const upload_secret> secret; ///< seals and opens upload tickets
  image_workers* images = nullptr;             ///< makes thumbnails; none: images are kept as plain files
  file_stats* stats = nullptr;
};

class upload_receiver : public std::enable_shared_from_this<upload_receiver> {
public:
  /// The answer to write, and whether the connection may carry another
  /// request; none: the client is gone, close.
  using done_fn = std::function<void(std::optional<boost::beast::http::message_generator>, bool keep_alive)>;

  /// `stream` and `buffer` are the connection's; `done` keeps their owner
  /// alive. `header`, read whole, is taken over.
  upload_receiver(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                  boost::beast::http::request_parser<boost::beast::http::empty_body>& header,
                  const upload_settings& settings, done_fn done);
  ~upload_receiver();

  void run();

private:
  /// Runs `step` on this connection's thread, with this upload kept alive.
  template <class Step>
  void on_own_thread(Step step);
  void on_created(std::shared_ptr<store_writer> writer, const store_error& error);
  void start_reading();
  void read_more();
  void on_read(boost::beast::error_code ec);
  void on_appended(const store_error& error, boost::beast::error_code read_error);
  void after_read(boost::beast::error_code ec);
  void finish(boost::beast::http::status status, std::string body, bool keep_alive);
  /// Drops the writer (nothing kept unless committed) and counts the upload as no longer received.
  void release_writer();
  void finish_stored();
  void commit(const stored_file& file);
  /// 201 with what the store now holds.
  void answer_created(const stored_file& file);

  boost::beast::tcp_stream& stream_;
  boost::beast::flat_buffer& buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> body_;
  const upload_settings& settings_;
  done_fn done_;
  std::optional<upload_ticket> ticket_;
  std::shared_ptr<store_writer> writer_;
  EVP_MD_CTX* hash_ = nullptr;
  std::uint64_t received_ = 0;
  unsigned version_ = 11;
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  std::array<char, 65536> chunk_{};
};

} // namespace chatnode

#pragma once
// A download from a store elsewhere (S3): the answer's header, then the
// bytes read from the store a piece at a time and written after it, each
// read waiting for the last write. One piece is held per download, whatever
// the file's size.

#include "node/edge/file_download.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/serializer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chatnode {

class file_stream : public std::enable_shared_from_this<file_stream> {
public:
  /// `done` gets whether the whole answer was written (the connection may
  /// carry another request); `stream` belongs to its caller, kept alive by `done`.
  file_stream(boost::beast::tcp_stream& stream, file_store& store, std::atomic<std::uint64_t>& store_errors,
              download_answer answer, std::function<void(bool)> done);

  void run();

private:
  void read_next();
  void on_read(std::string bytes, const store_error& error);
  void write_piece();

  boost::beast::tcp_stream& stream_;
  file_store& store_;
  std::atomic<std::uint64_t>& store_errors_;
  download_answer answer_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::buffer_body>> serializer_;
  std::function<void(bool)> done_;
  std::uint64_t next_ = 0; ///< the next byte to read, from the answer's offset
  std::string piece_;
};

} // namespace chatnode

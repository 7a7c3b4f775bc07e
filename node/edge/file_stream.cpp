#include "node/edge/file_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>

namespace chatnode {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace {

/// A client that takes no byte for this long is dropped.
constexpr auto write_stall = 30s;

} // namespace

file_stream::file_stream(beast::tcp_stream& stream, file_store& store,
                         std::atomic<std::uint64_t>& store_errors, download_answer answer,
                         std::function<void(bool)> done)
  : stream_(stream),
    store_(store),
    store_errors_(store_errors),
    answer_(std::move(answer)),
    done_(std::move(done)) {}

void file_stream::run() {
  answer_.header.body().data = nullptr;
  answer_.header.body().size = 0;
  answer_.header.body().more = answer_.length > 0;
  serializer_.emplace(answer_.header);
  stream_.expires_after(write_stall);
  http::async_write_header(stream_, *serializer_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) {
                               self->done_(false);
                               return;
                             }
                             if (self->answer_.length == 0) {
                               self->write_piece(); // the end of an empty body
                               return;
                             }
                             self->read_next();
                           });
}

void file_stream::read_next() {
  auto length = std::min<std::uint64_t>(answer_.length - next_, store_.read_size());
  store_.read(answer_.id, answer_.thumb, answer_.offset + next_, length,
              [self = shared_from_this()](std::string bytes, store_error error) {
                boost::asio::post(self->stream_.get_executor(),
                                  [self, bytes = std::move(bytes), error = std::move(error)]() mutable {
                                    self->on_read(std::move(bytes), error);
                                  });
              });
}

void file_stream::on_read(std::string bytes, const store_error& error) {
  auto wanted = std::min<std::uint64_t>(answer_.length - next_, store_.read_size());
  if (!error.empty() || bytes.size() != wanted) {
    // The header is out: the client sees a body cut short, never wrong bytes.
    store_errors_.fetch_add(1, std::memory_order_relaxed);
    done_(false);
    return;
  }
  next_ += bytes.size();
  piece_ = std::move(bytes);
  write_piece();
}

void file_stream::write_piece() {
  auto& body = answer_.header.body();
  body.data = piece_.empty() ? nullptr : piece_.data();
  body.size = piece_.size();
  body.more = next_ < answer_.length;
  stream_.expires_after(write_stall);
  http::async_write(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec) {
      self->done_(false);
      return;
    }
    if (self->serializer_->is_done()) {
      self->done_(true);
      return;
    }
    self->read_next();
  });
}

} // namespace chatnode

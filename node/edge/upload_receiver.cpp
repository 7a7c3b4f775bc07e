#include "node/edge/upload_receiver.hpp"

#include "node/edge/file_download.hpp"
#include "node/edge/http_responses.hpp"
#include "node/files/thumbnailer.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

namespace chatnode {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace {

/// A pause in the body this long ends the upload: slow links are fine, silent ones are not.
constexpr auto idle_timeout = 30s;

constexpr std::string_view unknown_ticket = "this upload link is unknown, used or expired\n";

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hex(const unsigned char* bytes, unsigned size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xF];
  }
  return out;
}

} // namespace

upload_receiver::upload_receiver(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                 http::request_parser<http::empty_body>& header,
                                 const upload_settings& settings, done_fn done)
  : stream_(stream),
    buffer_(buffer),
    settings_(settings),
    done_(std::move(done)) {
  body_.emplace(std::move(header));
}

upload_receiver::~upload_receiver() {
  release_writer();
  if (hash_)
    EVP_MD_CTX_free(hash_);
}

void upload_receiver::run() {
  const auto& req = body_->get();
  version_ = req.version();
  auto target = req.target();
  auto sealed = target.substr(upload_prefix.size(), target.find('?') - upload_prefix.size());
  auto secret = settings_.secret ? settings_.secret->get() : nullptr;
  // The body of a refused upload is not read: the connection closes after the answer.
  if (!secret) {
    finish(http::status::service_unavailable, "uploads wait for the bus: try again shortly\n", false);
    return;
  }
  ticket_ = open_ticket(sealed, *secret, unix_seconds());
  if (!ticket_) {
    finish(http::status::not_found, std::string{unknown_ticket}, false);
    return;
  }
  if (auto length = body_->content_length()) {
    if (*length > ticket_->size) {
      finish(http::status::payload_too_large,
             "the body is longer than the " + std::to_string(ticket_->size) + " bytes announced\n", false);
      return;
    }
    if (*length < ticket_->size) {
      finish(http::status::bad_request,
             "the body is shorter than the " + std::to_string(ticket_->size) + " bytes announced\n", false);
      return;
    }
  }
  if (settings_.stats && !settings_.stats->store_up.load(std::memory_order_relaxed)) {
    finish(http::status::service_unavailable, "the file store is unreachable: try again later\n", false);
    return;
  }
  // The store may answer from another thread: back to this one.
  bool image = settings_.images && inline_image(ticket_->mime);
  settings_.store->create(
    ticket_->file, ticket_->size, ticket_->mime, image,
    [self = shared_from_this()](std::shared_ptr<store_writer> writer, store_error error) {
      self->on_own_thread(
        [self, writer = std::move(writer), error = std::move(error)] { self->on_created(writer, error); });
    });
}

template <class Step>
void upload_receiver::on_own_thread(Step step) {
  boost::asio::post(stream_.get_executor(), std::move(step));
}

void upload_receiver::on_created(std::shared_ptr<store_writer> writer, const store_error& error) {
  if (!error.empty()) {
    settings_.stats->store_errors.fetch_add(1, std::memory_order_relaxed);
    finish(http::status::insufficient_storage, "the file store cannot be written\n", false);
    return;
  }
  if (!writer) {
    finish(http::status::not_found, std::string{unknown_ticket}, false);
    return;
  }
  writer_ = std::move(writer);
  settings_.stats->receiving.fetch_add(1, std::memory_order_relaxed);
  start_reading();
}

void upload_receiver::start_reading() {
  const auto& req = body_->get();
  // The parser reads as much as the connection's buffer holds: a chunk's
  // worth, so that each read and write moves 64 KiB (not the 16 KiB a
  // request's headers needed), a quarter of the system calls.
  buffer_.reserve(chunk_.size());
  hash_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(hash_, EVP_sha256(), nullptr);
  bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");
  body_->body_limit(ticket_->size);
  if (!expects_continue) {
    read_more();
    return;
  }
  // A client that asked first (curl does for large bodies) is told to go on.
  continue_ = {http::status::continue_, version_};
  stream_.expires_after(idle_timeout);
  http::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      self->done_(std::nullopt, false);
      return;
    }
    self->read_more();
  });
}

void upload_receiver::read_more() {
  auto& body = body_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  stream_.expires_after(idle_timeout);
  http::async_read_some(
    stream_, buffer_, *body_,
    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void upload_receiver::on_read(beast::error_code ec) {
  auto got = chunk_.size() - body_->get().body().size;
  if (got == 0) {
    after_read(ec);
    return;
  }
  received_ += got;
  EVP_DigestUpdate(hash_, chunk_.data(), got);
  // The next read waits for the store to take these bytes: a slow store
  // slows the client, never fills this node's memory.
  stream_.expires_never();
  // The chunk stays as it is until the store took it: the next read comes after.
  writer_->append(chunk_.data(), got, [self = shared_from_this(), ec](store_error error) {
    self->on_own_thread([self, ec, error = std::move(error)] { self->on_appended(error, ec); });
  });
}

void upload_receiver::on_appended(const store_error& error, beast::error_code read_error) {
  if (!writer_)
    return; // finished meanwhile
  if (!error.empty()) {
    settings_.stats->store_errors.fetch_add(1, std::memory_order_relaxed);
    finish(http::status::insufficient_storage, "the file store refused the bytes\n", false);
    return;
  }
  after_read(read_error);
}

void upload_receiver::after_read(beast::error_code ec) {
  if (ec == http::error::need_buffer)
    ec = {};
  if (ec == http::error::body_limit) {
    finish(http::status::payload_too_large,
           "the body is longer than the " + std::to_string(ticket_->size) + " bytes announced\n", false);
    return;
  }
  if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == boost::asio::error::connection_reset || ec == boost::asio::error::operation_aborted) {
    release_writer(); // the client is gone: nothing kept
    settings_.stats->abandoned.fetch_add(1, std::memory_order_relaxed);
    done_(std::nullopt, false);
    return;
  }
  if (ec) {
    finish(http::status::bad_request, "bad request body: " + ec.message() + "\n", false);
    return;
  }
  if (!body_->is_done()) {
    read_more();
    return;
  }
  if (received_ != ticket_->size) {
    finish(http::status::bad_request,
           "the body is shorter than the " + std::to_string(ticket_->size) + " bytes announced\n", false);
    return;
  }
  finish_stored();
}

void upload_receiver::finish_stored() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned size = 0;
  EVP_DigestFinal_ex(hash_, digest.data(), &size);
  stored_file file{ticket_->file,
                   ticket_->user,
                   ticket_->room,
                   ticket_->name,
                   ticket_->mime,
                   ticket_->size,
                   hex(digest.data(), size),
                   unix_seconds(),
                   0,
                   0,
                   {}};
  if (settings_.images && inline_image(file.mime)) {
    // Decoding takes tens of milliseconds: on the image workers, then back
    // to this connection's thread. A full queue: kept without a thumbnail.
    auto queued = settings_.images->post([self = shared_from_this(), file, source = writer_->local_copy(),
                                          thumb = writer_->thumbnail_path()]() mutable {
      std::string thumb_mime;
      if (auto facts = make_thumbnail(source, thumb, &thumb_mime)) {
        file.width = facts->width;
        file.height = facts->height;
        std::error_code ec;
        auto thumb_size = std::filesystem::file_size(thumb, ec);
        if (facts->thumbnail && !ec) {
          file.thumb_mime = thumb_mime;
          file.thumb_size = thumb_size;
          self->settings_.stats->thumbnails.fetch_add(1, std::memory_order_relaxed);
        }
      }
      self->on_own_thread([self, file] { self->commit(file); });
    });
    if (queued)
      return;
  }
  commit(file);
}

void upload_receiver::commit(const stored_file& file) {
  if (!writer_)
    return;
  writer_->commit(file, [self = shared_from_this(), file](store_error error, bool used) {
    self->on_own_thread([self, file, error = std::move(error), used] {
      if (used) {
        // Another upload of the same ticket finished first.
        self->finish(http::status::not_found, std::string{unknown_ticket}, false);
        return;
      }
      if (!error.empty()) {
        self->settings_.stats->store_errors.fetch_add(1, std::memory_order_relaxed);
        self->finish(http::status::insufficient_storage, "the file store refused the file\n", false);
        return;
      }
      self->release_writer();
      self->answer_created(file);
    });
  });
}

void upload_receiver::answer_created(const stored_file& file) {
  settings_.stats->stored.fetch_add(1, std::memory_order_relaxed);
  settings_.stats->bytes.fetch_add(file.size, std::memory_order_relaxed);
  nlohmann::json answer{{"file", file.id}, {"size", file.size}, {"mime", file.mime}, {"sha256", file.sha256}};
  if (file.width > 0) {
    answer["width"] = file.width;
    answer["height"] = file.height;
  }
  finish(http::status::created, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
         body_->get().keep_alive());
}

void upload_receiver::release_writer() {
  if (writer_)
    settings_.stats->receiving.fetch_sub(1, std::memory_order_relaxed);
  writer_.reset();
}

void upload_receiver::finish(http::status status, std::string body, bool keep_alive) {
  release_writer();
  if (status != http::status::created)
    settings_.stats->refused.fetch_add(1, std::memory_order_relaxed);
  bool json = status == http::status::created;
  response_shape shape{version_, keep_alive, false};
  done_(
    text_response(shape, status, std::move(body), json ? "application/json" : "text/plain; charset=utf-8"),
    keep_alive);
}

} // namespace chatnode

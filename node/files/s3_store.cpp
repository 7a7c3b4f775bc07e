#include "node/files/s3_store.hpp"

#include "node/files/s3_upload.hpp"

#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <utility>

namespace chatnode {

namespace fs = std::filesystem;

namespace {

/// A description is a few hundred bytes; more is not one of ours.
constexpr std::size_t max_description_bytes = 64 * 1024;
/// A thumbnail is at most 320 pixels a side: small.
constexpr std::size_t max_thumbnail_bytes = 4 * 1024 * 1024;

std::string description_key(std::string_view id) {
  return std::string{id} + ".json";
}
std::string thumbnail_key(std::string_view id) {
  return std::string{id} + ".thumb";
}
std::string sent_key(std::string_view id) {
  return std::string{id} + ".sent";
}

bool not_found(const s3_result& r) {
  return r.status == 404;
}

std::string random_suffix() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random());
}

/// A file being written to the bucket: one streamed PUT of its bytes, then
/// its thumbnail and description.
class s3_writer : public store_writer {
public:
  s3_writer(std::shared_ptr<s3_client> client, std::function<void(std::string)> forget, std::string id,
            std::uint64_t size, const std::string& mime, fs::path spool)
    : client_(std::move(client)),
      forget_(std::move(forget)),
      id_(std::move(id)),
      size_(size),
      spool_(std::move(spool)) {
    upload_ = client_->start_put(id_, size_, mime, [](s3_result) {});
    if (!spool_.empty()) {
      spool_fd_ = ::open(spool_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (spool_fd_ < 0)
        spool_.clear(); // no copy: the image is kept without a thumbnail
    }
  }

  ~s3_writer() override {
    if (spool_fd_ >= 0)
      ::close(spool_fd_);
    std::error_code ec;
    if (!spool_.empty()) {
      fs::remove(spool_, ec);
      fs::remove(thumbnail_path(), ec);
    }
    // No description made the bytes a file: they go, in case the server
    // kept them (all of them, or, as some do, a cut-off PUT's part). The
    // hourly sweep removes any this misses.
    if (!committed_ && written_ > 0)
      forget_(id_);
  }

  void append(const char* bytes, std::size_t size, std::function<void(store_error)> done) override {
    if (spool_fd_ >= 0 && !spool_bytes(bytes, size)) {
      ::close(std::exchange(spool_fd_, -1));
      std::error_code ec;
      fs::remove(spool_, ec);
      spool_.clear();
    }
    written_ += size;
    upload_->write(boost::asio::buffer(bytes, size),
                   [done = std::move(done)](std::string error) { done(error); });
  }

  fs::path local_copy() const override { return spool_; }

  fs::path thumbnail_path() const override {
    if (spool_.empty())
      return {};
    auto path = spool_;
    path += ".thumb";
    return path;
  }

  void commit(const stored_file& description, std::function<void(store_error, bool)> done) override {
    if (spool_fd_ >= 0)
      ::close(std::exchange(spool_fd_, -1));
    committed_ = true;
    auto client = client_;
    auto id = id_;
    auto json = describe_as_json(description);
    // The description last: the file is visible once its parts are there.
    auto put_description = [client, id, json, done](store_error error) {
      if (!error.empty()) {
        done(error, false);
        return;
      }
      client->put_object(description_key(id), json, "application/json",
                         [done](s3_result r) { done(r.error, false); });
    };
    auto put_thumbnail = [thumb = thumbnail_path(), client, id, description,
                          put_description](store_error error) {
      if (!error.empty() || description.thumb_mime.empty()) {
        put_description(error);
        return;
      }
      std::ifstream in(thumb, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      if (!in || bytes.str().size() > max_thumbnail_bytes) {
        put_description("the thumbnail could not be read");
        return;
      }
      client->put_object(thumbnail_key(id), bytes.str(), description.thumb_mime,
                         [put_description](s3_result r) { put_description(r.error); });
    };
    // A file of no bytes is one write of none.
    if (size_ == 0) {
      upload_->write(boost::asio::const_buffer{},
                     [put_thumbnail](std::string error) { put_thumbnail(error); });
      return;
    }
    put_thumbnail({});
  }

private:
  bool spool_bytes(const char* at, std::size_t left) {
    while (left > 0) {
      auto n = ::write(spool_fd_, at, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      at += n;
      left -= static_cast<std::size_t>(n);
    }
    return true;
  }

  std::shared_ptr<s3_client> client_;
  std::function<void(std::string)> forget_;
  std::string id_;
  std::uint64_t size_;
  std::uint64_t written_ = 0;
  std::shared_ptr<s3_upload> upload_;
  fs::path spool_;
  int spool_fd_ = -1;
  bool committed_ = false;
};

/// What a sweep learns of one id from the listing.
struct listed_file {
  std::optional<std::int64_t> described; ///< when its description was written
  std::optional<std::int64_t> oldest;    ///< its oldest object's time
  bool sent = false;
};

struct sweep_state {
  std::shared_ptr<s3_client> client;
  std::int64_t unsent_cutoff = 0;
  std::int64_t sent_cutoff = 0;
  std::map<std::string, listed_file> files;
  std::function<void(std::size_t)> done;
};

void remove_objects(const std::shared_ptr<s3_client>& client, const std::string& id) {
  // The description first: from then on the file is gone for every reader.
  client->delete_object(description_key(id), [client, id](s3_result) {
    client->delete_object(id, [](s3_result) {});
    client->delete_object(thumbnail_key(id), [](s3_result) {});
    client->delete_object(sent_key(id), [](s3_result) {});
  });
}

void finish_sweep(const std::shared_ptr<sweep_state>& state) {
  std::size_t removed = 0;
  for (const auto& [id, f] : state->files) {
    // Described: by its age and whether it was sent. Not described: an
    // upload never finished (or a remove half done), by its oldest object.
    bool old = f.described ? *f.described < (f.sent ? state->sent_cutoff : state->unsent_cutoff)
                           : f.oldest && *f.oldest < state->unsent_cutoff;
    if (!old)
      continue;
    remove_objects(state->client, id);
    ++removed;
  }
  state->done(removed);
}

void list_page(const std::shared_ptr<sweep_state>& state, std::string token) {
  state->client->list_objects({}, std::move(token), [state](s3_list_result page) {
    if (!page.ok()) {
      state->done(0); // tried again at the next sweep
      return;
    }
    for (const auto& object : page.listing.objects) {
      if (object.key.empty() || object.key.front() == '.')
        continue; // the probe's
      auto dot = object.key.find('.');
      auto id = object.key.substr(0, dot);
      auto kind = dot == std::string::npos ? std::string{} : object.key.substr(dot + 1);
      auto when = s3_time_seconds(object.last_modified);
      auto& f = state->files[id];
      if (when && (!f.oldest || *when < *f.oldest))
        f.oldest = when;
      if (kind == "json")
        f.described = when.value_or(0);
      else if (kind == "sent")
        f.sent = true;
    }
    if (page.listing.truncated && !page.listing.next_continuation_token.empty())
      list_page(state, page.listing.next_continuation_token);
    else
      finish_sweep(state);
  });
}

} // namespace

s3_store::s3_store(s3_config config, fs::path spool)
  : work_(boost::asio::make_work_guard(io_)),
    client_(std::make_shared<s3_client>(io_, std::move(config))),
    spool_(std::move(spool)) {
  std::error_code ec;
  fs::create_directories(spool_, ec);
  thread_ = std::thread{[this] { io_.run(); }};
}

s3_store::~s3_store() {
  stop();
}

void s3_store::stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable())
    thread_.join();
}

void s3_store::create(const std::string& id, std::uint64_t size, const std::string& mime, bool local_copy,
                      std::function<void(std::shared_ptr<store_writer>, store_error)> done) {
  // A ticket is good once: an id already described was uploaded.
  client_->head_object(description_key(id), [this, id, size, mime, local_copy, done](s3_object_result r) {
    if (r.ok()) {
      done(nullptr, {});
      return;
    }
    if (!not_found(r)) {
      done(nullptr, r.error);
      return;
    }
    auto spool = local_copy ? spool_ / (id + "." + random_suffix()) : fs::path{};
    done(std::make_shared<s3_writer>(
           client_, [this](std::string key) { forget_later(std::move(key)); }, id, size, mime, spool),
         {});
  });
}

void s3_store::describe(const std::string& id,
                        std::function<void(std::optional<stored_file>, store_error)> done) {
  // The description and the sent mark, asked at once.
  struct both {
    std::mutex mutex;
    int waiting = 2;
    std::optional<stored_file> file;
    bool sent = false;
    store_error error;
    std::function<void(std::optional<stored_file>, store_error)> done;
  };
  auto state = std::make_shared<both>();
  state->done = std::move(done);
  auto settle = [state] {
    if (!state->error.empty()) {
      state->done(std::nullopt, state->error);
      return;
    }
    if (state->file)
      state->file->sent = state->file->sent || state->sent;
    state->done(std::move(state->file), {});
  };
  client_->get_object(description_key(id), std::nullopt, max_description_bytes,
                      [state, id, settle](s3_object_result r) {
                        std::unique_lock lock{state->mutex};
                        if (r.ok()) {
                          state->file = description_from_json(r.body);
                          if (state->file && state->file->id != id)
                            state->file.reset();
                        } else if (!not_found(r)) {
                          state->error = r.error;
                        }
                        if (--state->waiting == 0) {
                          lock.unlock();
                          settle();
                        }
                      });
  client_->head_object(sent_key(id), [state, settle](s3_object_result r) {
    std::unique_lock lock{state->mutex};
    if (r.ok())
      state->sent = true;
    else if (!not_found(r))
      state->error = r.error;
    if (--state->waiting == 0) {
      lock.unlock();
      settle();
    }
  });
}

void s3_store::read(const std::string& id, bool thumb, std::uint64_t offset, std::uint64_t length,
                    std::function<void(std::string, store_error)> done) {
  if (length == 0) {
    done({}, {});
    return;
  }
  client_->get_object(thumb ? thumbnail_key(id) : id, s3_byte_range{offset, offset + length - 1},
                      static_cast<std::size_t>(length),
                      [done](s3_object_result r) { done(std::move(r.body), r.error); });
}

void s3_store::forget_later(std::string key) {
  // A second later: the server is done with the PUT cut off meanwhile.
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds{1});
  timer->async_wait([timer, client = client_, key = std::move(key)](boost::system::error_code ec) {
    if (!ec)
      client->delete_object(key, [](s3_result) {});
  });
}

void s3_store::mark_sent(const std::string& id) {
  client_->put_object(sent_key(id), {}, {}, [](s3_result) {});
}

void s3_store::remove(const std::string& id) {
  remove_objects(client_, id);
}

void s3_store::sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff,
                     std::function<void(std::size_t)> done) {
  auto state = std::make_shared<sweep_state>();
  state->client = client_;
  state->unsent_cutoff = unsent_cutoff;
  state->sent_cutoff = sent_cutoff;
  state->done = std::move(done);
  list_page(state, {});
}

void s3_store::probe(std::function<void(store_error)> done) {
  // Nodes sharing the bucket probe it each with an object of its own.
  auto key = ".probe-" + random_suffix();
  client_->put_object(key, "probe", "text/plain", [client = client_, key, done](s3_result r) {
    if (!r.ok()) {
      done("the bucket refused a write: " + r.error);
      return;
    }
    client->delete_object(key, [done](s3_result removed) {
      done(removed.ok() ? store_error{} : "the bucket refused a delete: " + removed.error);
    });
  });
}

} // namespace chatnode

#include "node/files/directory_file_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chatnode {

namespace fs = std::filesystem;

namespace {

class directory_writer : public store_writer {
public:
  directory_writer(const directory_store& store, std::string id, file_writer writer)
    : store_(store),
      id_(std::move(id)),
      writer_(std::move(writer)) {}

  ~directory_writer() override {
    std::error_code ec;
    fs::remove(thumbnail_path(), ec);
  }

  void append(const char* bytes, std::size_t size, std::function<void(store_error)> done) override {
    done(writer_.append(bytes, size) ? store_error{} : "the disk refused the bytes");
  }

  fs::path local_copy() const override { return writer_.part_path(); }

  fs::path thumbnail_path() const override {
    auto path = store_.thumb_path(id_);
    path += ".part";
    return path;
  }

  void commit(const stored_file& description, std::function<void(store_error, bool)> done) override {
    // The thumbnail first: a reader that finds the description finds it too.
    std::error_code ec;
    if (!description.thumb_mime.empty())
      fs::rename(thumbnail_path(), store_.thumb_path(id_), ec);
    if (ec) {
      done("the thumbnail could not be stored: " + ec.message(), false);
      return;
    }
    if (!writer_.commit(description)) {
      fs::remove(store_.thumb_path(id_), ec);
      // Another upload of the same id finished first, or the disk refused.
      done({}, true);
      return;
    }
    done({}, false);
  }

private:
  const directory_store& store_;
  std::string id_;
  file_writer writer_;
};

} // namespace

void directory_file_store::create(const std::string& id, std::uint64_t, const std::string&, bool,
                                  std::function<void(std::shared_ptr<store_writer>, store_error)> done) {
  if (auto problem = store_.prepare(); !problem.empty()) {
    done(nullptr, problem);
    return;
  }
  auto writer = store_.create(id);
  if (!writer) {
    done(nullptr, {}); // written already, or being written
    return;
  }
  done(std::make_shared<directory_writer>(store_, id, std::move(*writer)), {});
}

void directory_file_store::describe(const std::string& id,
                                    std::function<void(std::optional<stored_file>, store_error)> done) {
  done(store_.describe(id), {});
}

fs::path directory_file_store::local_path(std::string_view id, bool thumb) const {
  return thumb ? store_.thumb_path(id) : store_.data_path(id);
}

void directory_file_store::read(const std::string& id, bool thumb, std::uint64_t offset, std::uint64_t length,
                                std::function<void(std::string, store_error)> done) {
  auto path = local_path(id, thumb);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    done({}, std::strerror(errno));
    return;
  }
  std::string bytes(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    auto n = ::pread(fd, bytes.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  done(std::move(bytes), got == length ? store_error{} : "the file is shorter than asked");
}

} // namespace chatnode

#include "node/files/directory_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

namespace chatnode {

namespace fs = std::filesystem;

namespace {

/// Writes a description beside the file, replacing any: a reader sees the old one or the new one.
bool write_description(const fs::path& meta, const stored_file& d) {
  auto temp = meta;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << describe_as_json(d);
    if (!out.flush())
      return false;
  }
  std::error_code ec;
  fs::rename(temp, meta, ec);
  if (ec)
    fs::remove(temp, ec);
  return !ec;
}

} // namespace

file_writer::file_writer(int fd, fs::path part, fs::path data, fs::path meta)
  : fd_(fd),
    part_(std::move(part)),
    data_(std::move(data)),
    meta_(std::move(meta)) {}

file_writer::file_writer(file_writer&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)),
    part_(std::move(other.part_)),
    data_(std::move(other.data_)),
    meta_(std::move(other.meta_)),
    done_(std::exchange(other.done_, true)) {}

file_writer::~file_writer() {
  if (!done_)
    discard();
}

void file_writer::discard() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::remove(part_, ec);
  done_ = true;
}

bool file_writer::append(const void* bytes, std::size_t size) {
  auto* at = static_cast<const char*>(bytes);
  while (size > 0) {
    auto n = ::write(fd_, at, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    at += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool file_writer::commit(const stored_file& d) {
  if (::close(std::exchange(fd_, -1)) != 0) {
    discard();
    return false;
  }
  // The description first, then the bytes under their name: a reader that
  // finds the bytes finds the description too.
  std::error_code ec;
  // link() refuses an existing name: a file is never replaced.
  if (!write_description(meta_, d) || ::link(part_.c_str(), data_.c_str()) != 0) {
    discard();
    return false;
  }
  fs::remove(part_, ec);
  done_ = true;
  return true;
}

directory_store::directory_store(fs::path root)
  : root_(std::move(root)) {}

std::string directory_store::prepare() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec)
    return "cannot create the file store " + root_.string() + ": " + ec.message();
  if (::access(root_.c_str(), W_OK) != 0)
    return "cannot write to the file store " + root_.string();
  return {};
}

std::string directory_store::probe() const {
  if (auto problem = prepare(); !problem.empty())
    return problem;
  // Nodes sharing the store probe it each with a file of its own.
  auto path = root_ / (".probe-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return "cannot write to the file store " + root_.string() + ": " + std::strerror(errno);
  bool written = ::write(fd, "probe", 5) == 5;
  int error = written ? 0 : errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!written)
    return "the file store " + root_.string() + " refused a write: " + std::strerror(error);
  return {};
}

fs::path directory_store::folder(std::string_view id) const {
  return root_ / std::string{id.substr(0, 2)};
}

fs::path directory_store::data_path(std::string_view id) const {
  return folder(id) / std::string{id};
}

fs::path directory_store::thumb_path(std::string_view id) const {
  auto path = data_path(id);
  path += ".thumb";
  return path;
}

bool directory_store::update(const stored_file& d) const {
  std::error_code ec;
  if (!fs::exists(data_path(d.id), ec))
    return false;
  auto meta = data_path(d.id);
  meta += ".json";
  return write_description(meta, d);
}

std::optional<file_writer> directory_store::create(std::string_view id) const {
  std::error_code ec;
  fs::create_directories(folder(id), ec);
  auto data = data_path(id);
  auto part = data;
  part += ".part";
  auto meta = data;
  meta += ".json";
  if (fs::exists(data, ec) || fs::exists(meta, ec))
    return std::nullopt;
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0)
    return std::nullopt; // being written (EEXIST), or the disk refused
  return file_writer{fd, part, data, meta};
}

std::optional<stored_file> directory_store::describe(std::string_view id) const {
  auto meta = data_path(id);
  meta += ".json";
  std::ifstream in(meta, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream contents;
  contents << in.rdbuf();
  auto d = description_from_json(contents.str());
  if (!d)
    return std::nullopt;
  std::error_code ec;
  if (d->id != id || !fs::exists(data_path(id), ec))
    return std::nullopt;
  return d;
}

bool directory_store::mark_sent(std::string_view id) const {
  auto d = describe(id);
  if (!d)
    return false;
  d->sent = true;
  return update(*d);
}

std::size_t directory_store::sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff) const {
  std::size_t removed = 0;
  std::error_code ec;
  // Unfinished uploads carry no description: their age is their file's.
  auto unfinished_before = fs::file_time_type::clock::now() -
                           std::chrono::seconds{std::time(nullptr) - static_cast<std::time_t>(unsent_cutoff)};
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec))
      continue;
    auto path = it->path();
    auto name = path.filename().string();
    if (name.ends_with(".part") || name.ends_with(".tmp")) {
      // Left by a process that died mid-upload.
      if (auto written = fs::last_write_time(path, ec); !ec && written < unfinished_before)
        removed += fs::remove(path, ec) ? 1 : 0;
      continue;
    }
    if (!name.ends_with(".json"))
      continue;
    auto id = name.substr(0, name.size() - 5);
    auto d = describe(id);
    if (d && d->created < (d->sent ? sent_cutoff : unsent_cutoff))
      removed += remove(id) ? 1 : 0;
  }
  return removed;
}

bool directory_store::remove(std::string_view id) const {
  std::error_code ec;
  auto data = data_path(id);
  auto meta = data;
  meta += ".json";
  bool had = fs::remove(data, ec);
  fs::remove(meta, ec);
  fs::remove(thumb_path(id), ec);
  return had;
}

} // namespace chatnode

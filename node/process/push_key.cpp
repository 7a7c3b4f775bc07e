#include "node/process/push_key.hpp"

#include "node/push/web_push_crypto.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace chatnode {

namespace fs = std::filesystem;

namespace {

std::string public_key_of(const std::string& pem) {
  auto key = push::vapid_key::from_pem(pem);
  return key ? key->public_key() : std::string{};
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Writes a new key to `path` unless one is there: written aside and linked
/// into place, so a reader never sees half a key and two starts at once
/// keep one. Empty on success, else why not.
std::string write_new_key(const fs::path& path, const std::string& pem) {
  std::error_code ec;
  if (path.has_parent_path())
    fs::create_directories(path.parent_path(), ec);
  if (ec)
    return "cannot make " + path.parent_path().string() + ": " + ec.message();
  auto aside = path;
  aside += ".new." + std::to_string(::getpid());
  int fd = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return "cannot write " + aside.string() + ": " + std::strerror(errno);
  auto written = ::write(fd, pem.data(), pem.size());
  bool whole = written == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::string problem;
  if (!whole)
    problem = "cannot write " + aside.string() + ": " + std::strerror(errno);
  else if (::link(aside.c_str(), path.c_str()) != 0 && errno != EEXIST)
    problem = "cannot write " + path.string() + ": " + std::strerror(errno);
  ::unlink(aside.c_str());
  return problem;
}

} // namespace

result<std::shared_ptr<push_identity>> push_identity_of(const node_config& config) {
  if (!config.push_enabled)
    return std::shared_ptr<push_identity>{};
  if (!config.push_vapid_private_key.empty()) {
    auto identity = std::make_shared<push_identity>(std::string{}, public_key_of);
    if (!identity->keep(config.push_vapid_private_key))
      return std::string{"push.vapid_private_key: not a P-256 private key in PEM"};
    return identity;
  }
  auto mine = push::vapid_key::generate().to_pem();
  if (!config.redis_url.empty()) // the bus keeps the first node's
    return std::make_shared<push_identity>(std::move(mine), public_key_of);
  // A key file that cannot be kept or read leaves push unavailable, not the
  // node down: clients asking are told why, and the log says so at start.
  auto identity = std::make_shared<push_identity>(std::string{}, public_key_of);
  fs::path path{config.push_key_file};
  std::error_code ec;
  std::string problem;
  if (!fs::exists(path, ec))
    problem = write_new_key(path, mine);
  if (problem.empty() && !identity->keep(read_file(path)))
    problem = path.string() + " holds no P-256 private key in PEM";
  if (!problem.empty())
    identity->set_problem("push is unavailable: push.key_file: " + problem);
  return identity;
}

} // namespace chatnode

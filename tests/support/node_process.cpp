#include "node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

#ifndef CHATNODE_BIN
#error "CHATNODE_BIN must name the chatnode binary"
#endif
#ifndef CHATNODE_SOURCE_DIR
#error "CHATNODE_SOURCE_DIR must name the source tree"
#endif

namespace chatnode::testing {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

// CHATNODE_TEST_BIN and CHATNODE_TEST_SOURCE_DIR in the test's environment override the
// compiled-in paths (e.g. to run the suite against an installed binary).
std::string chatnode_binary() {
  const char* env = std::getenv("CHATNODE_TEST_BIN");
  return env && *env ? env : CHATNODE_BIN;
}
std::string source_dir() {
  const char* env = std::getenv("CHATNODE_TEST_SOURCE_DIR");
  return env && *env ? env : CHATNODE_SOURCE_DIR;
}

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

std::vector<std::string> child_environment(const env_vars& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("CHATNODE_", 0) == 0)
      continue;
    env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra)
    env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts the binary with stdin from /dev/null, stdout to `out_fd` and stderr to `err_fd`.
// fork + exec rather than posix_spawn so the child can ask for SIGKILL when the test
// process dies (PR_SET_PDEATHSIG): a crashed or timed-out test leaves no node behind.
// Between fork and exec the child only makes async-signal-safe calls.
pid_t spawn(std::vector<std::string> argv, const env_vars& extra_env, int out_fd, int err_fd) {
  std::vector<std::string> env = child_environment(extra_env);
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(env);
  const pid_t parent = ::getpid();
  int err_pipe[2]; // reports an exec failure to the parent
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("pipe2"));

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    throw std::runtime_error(errno_text("fork"));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0); // a terminal's Ctrl-C reaches the test, which then stops the node
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP})
      ::sigaction(sig, &dfl, nullptr);
    int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
      ::_exit(127);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("exec " + argv[0] + ": " + std::strerror(child_errno));
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

// Reaps `pid` if it has exited by `deadline`; returns its decoded status.
std::optional<int> reap(pid_t pid, steady::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return decode_status(status);
    if (r < 0 && errno != EINTR)
      return -1; // not our child any more (already reaped elsewhere)
    if (steady::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

// ---------------------------------------------------------------------------------------
// node_process
// ---------------------------------------------------------------------------------------

struct node_process::impl {
  pid_t pid = -1;
  std::optional<int> exit_status;
  std::string host;
  std::uint16_t port = 0;
  std::string dir;
  std::string stderr_file;
  bool keep = std::getenv("CHATNODE_TEST_KEEP_LOGS") != nullptr;

  int out_fd = -1; // read end of the stdout pipe
  mutable std::mutex out_mutex;
  std::string out;
  std::thread out_reader;

  void start_reader() {
    out_reader = std::thread([this] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(out_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        std::lock_guard lock(out_mutex);
        out.append(buf, static_cast<std::size_t>(n));
      }
    });
  }

  void stop() {
    if (pid > 0 && !exit_status) {
      ::kill(pid, SIGTERM);
      exit_status = reap(pid, steady::now() + std::chrono::seconds(10));
      if (!exit_status) {
        ::kill(pid, SIGKILL);
        exit_status = reap(pid, steady::now() + std::chrono::seconds(10));
      }
    }
    if (out_reader.joinable())
      out_reader.join();
    if (out_fd >= 0) {
      ::close(out_fd);
      out_fd = -1;
    }
  }

  ~impl() {
    stop();
    if (!dir.empty() && !keep) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
};

node_process::node_process(node_options opts)
  : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  char tmpl[] = "/tmp/chatnode-it-XXXXXX";
  if (!::mkdtemp(tmpl))
    throw std::runtime_error(errno_text("mkdtemp"));
  d.dir = tmpl;
  d.stderr_file = d.dir + "/stderr.log";

  std::vector<std::string> argv{chatnode_binary()};
  if (opts.replace_default_args) {
    argv.insert(argv.end(), opts.replace_default_args->begin(), opts.replace_default_args->end());
  } else {
    argv.insert(argv.end(), {"--config", source_dir() + "/config/node.toml", "--listen", "127.0.0.1:0",
                             "--web-root", source_dir() + "/web"});
  }
  argv.insert(argv.end(), opts.args.begin(), opts.args.end());

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("pipe2"));
  int err_fd = ::open(d.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    throw std::runtime_error(errno_text("open stderr log"));
  }
  try {
    d.pid = spawn(argv, opts.env, pipefd[1], err_fd);
  } catch (...) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    ::close(err_fd);
    throw;
  }
  ::close(pipefd[1]);
  ::close(err_fd);
  d.out_fd = pipefd[0];

  // Wait for `chatnode listening on http://HOST:PORT/`.
  const std::string marker = "chatnode listening on http://";
  const auto deadline = steady::now() + opts.start_timeout;
  std::string failure;
  for (;;) {
    auto pos = d.out.find(marker);
    if (pos != std::string::npos) {
      auto eol = d.out.find('\n', pos);
      if (eol != std::string::npos) {
        std::string hostport = d.out.substr(pos + marker.size(), eol - pos - marker.size());
        while (!hostport.empty() && (hostport.back() == '\r' || hostport.back() == '/'))
          hostport.pop_back();
        auto colon = hostport.rfind(':');
        if (colon == std::string::npos) {
          failure = "cannot parse the listening line: " + d.out.substr(pos, eol - pos);
          break;
        }
        d.host = hostport.substr(0, colon);
        if (d.host.size() > 2 && d.host.front() == '[' && d.host.back() == ']')
          d.host = d.host.substr(1, d.host.size() - 2);
        if (d.host == "localhost")
          d.host = "127.0.0.1";
        d.port = static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1)));
        break;
      }
    }
    auto now = steady::now();
    if (now >= deadline) {
      failure = "no listening line within the start timeout";
      break;
    }
    pollfd p{d.out_fd, POLLIN, 0};
    int ms =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    char buf[4096];
    ssize_t n = ::read(d.out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      failure = "stdout closed before the listening line (the node exited?)";
      break;
    }
    d.out.append(buf, static_cast<std::size_t>(n));
  }
  if (!failure.empty()) {
    d.stop();
    std::string status = d.exit_status ? std::to_string(*d.exit_status) : "unknown";
    std::string msg = "chatnode did not start: " + failure + "; exit status " + status +
                      "; stdout: " + d.out + "; stderr: " + stderr_tail();
    throw std::runtime_error(msg);
  }
  d.start_reader();
}

node_process::~node_process() = default;

const std::string& node_process::host() const {
  return impl_->host;
}
std::uint16_t node_process::port() const {
  return impl_->port;
}
std::string node_process::url() const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->port);
}
pid_t node_process::pid() const {
  return impl_->pid;
}

bool node_process::send_signal(int sig) {
  if (impl_->pid <= 0 || impl_->exit_status)
    return false;
  return ::kill(impl_->pid, sig) == 0;
}

std::optional<int> node_process::stop(steady::time_point deadline) {
  auto& d = *impl_;
  if (d.pid <= 0)
    return std::nullopt;
  if (!d.exit_status) {
    ::kill(d.pid, SIGTERM);
    d.exit_status = reap(d.pid, deadline);
    if (!d.exit_status) {
      ::kill(d.pid, SIGKILL);
      reap(d.pid, steady::now() + std::chrono::seconds(10));
      d.exit_status = -1;
      return std::nullopt;
    }
  }
  return d.exit_status;
}

std::optional<int> node_process::wait_exit(steady::time_point deadline) {
  auto& d = *impl_;
  if (!d.exit_status && d.pid > 0)
    d.exit_status = reap(d.pid, deadline);
  return d.exit_status;
}

bool node_process::running() {
  return !wait_exit(steady::now()).has_value();
}

std::string node_process::stdout_text() const {
  std::lock_guard lock(impl_->out_mutex);
  return impl_->out;
}

std::string node_process::stderr_text() const {
  return read_file(impl_->stderr_file);
}

std::string node_process::stderr_tail(std::size_t max_bytes) const {
  std::string s = stderr_text();
  if (s.size() > max_bytes)
    s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

const std::string& node_process::stderr_path() const {
  return impl_->stderr_file;
}
void node_process::keep_logs() {
  impl_->keep = true;
}

// ---------------------------------------------------------------------------------------
// run_chatnode
// ---------------------------------------------------------------------------------------

run_result run_chatnode(const std::vector<std::string>& args, const env_vars& env,
                        std::chrono::milliseconds timeout) {
  run_result result;
  std::vector<std::string> argv{chatnode_binary()};
  argv.insert(argv.end(), args.begin(), args.end());

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("pipe2"));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error(errno_text("pipe2"));
  }
  pid_t pid;
  try {
    pid = spawn(argv, env, out_pipe[1], err_pipe[1]);
  } catch (...) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      ::close(fd);
    throw;
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  const auto deadline = steady::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  while (open_count > 0) {
    auto now = steady::now();
    if (now >= deadline) {
      result.timed_out = true;
      break;
    }
    int ms =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    int r = ::poll(fds, 2, ms);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0)
      ::close(p.fd);

  auto status = reap(pid, result.timed_out ? steady::now() : deadline + std::chrono::seconds(1));
  if (!status) {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
    reap(pid, steady::now() + std::chrono::seconds(10));
    result.status = -1;
  } else {
    result.status = *status;
  }
  return result;
}

} // namespace chatnode::testing

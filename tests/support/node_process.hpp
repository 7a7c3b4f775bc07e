// Runs the real chatnode binary as a child process for integration tests.
//
// The binary and the source tree come from the compile definitions CHATNODE_BIN and
// CHATNODE_SOURCE_DIR (set by tests/integration/CMakeLists.txt).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatnode::testing {

using env_vars = std::vector<std::pair<std::string, std::string>>;

// Path of the chatnode binary under test, and of the source tree (config/node.toml, web/).
// The environment variables CHATNODE_TEST_BIN and CHATNODE_TEST_SOURCE_DIR override them.
std::string chatnode_binary();
std::string source_dir();

struct node_options {
  // Added after the default arguments
  // `--config <source>/config/node.toml --listen 127.0.0.1:0 --web-root <source>/web`;
  // flags given later win in chatnode, so these may override the defaults.
  std::vector<std::string> args;
  // Environment variables for the child (CHATNODE_* overrides). The child inherits the
  // test's environment minus every CHATNODE_* variable, plus these.
  env_vars env;
  // Replaces the default arguments entirely when set.
  std::optional<std::vector<std::string>> replace_default_args;
  std::chrono::milliseconds start_timeout{10000};
};

// Exit status as returned by node_process::wait_exit() and run_chatnode(): the exit code
// when the process exited, 128 + signal number when a signal killed it.
class node_process {
public:
  // Starts chatnode and waits (up to start_timeout) for the line
  // `chatnode listening on http://HOST:PORT/` on its stdout. Throws std::runtime_error,
  // with the tail of the node's stderr, when the node exits or stays silent.
  explicit node_process(node_options opts = {});
  // SIGTERM, then SIGKILL when the node has not exited after 10 s; always reaps it.
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  const std::string& host() const; // as printed in the listening line
  std::uint16_t port() const;
  std::string url() const; // http://HOST:PORT
  pid_t pid() const;

  bool send_signal(int sig);
  // SIGTERM (if still running) and wait for the exit until the deadline; then SIGKILL.
  // Returns the exit status, or nullopt if it had to be killed.
  std::optional<int> stop(std::chrono::steady_clock::time_point deadline);
  // Exit status once the process has ended (see above); nullopt if still running at the
  // deadline.
  std::optional<int> wait_exit(std::chrono::steady_clock::time_point deadline);
  bool running();

  std::string stdout_text() const; // everything the node printed on stdout so far
  std::string stderr_text() const; // contents of the captured stderr file
  std::string stderr_tail(std::size_t max_bytes = 4000) const;
  const std::string& stderr_path() const;
  // Keep the temporary directory holding stderr.log after destruction (also when the
  // environment variable CHATNODE_TEST_KEEP_LOGS is set).
  void keep_logs();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct run_result {
  int status = -1; // as wait_exit(); -1 if it had to be killed after the timeout
  bool timed_out = false;
  std::string out; // stdout
  std::string err; // stderr
};

// Runs chatnode with exactly `args` (no defaults) to completion, e.g. --version or
// --check-config. The child gets the environment described in node_options::env.
run_result run_chatnode(const std::vector<std::string>& args, const env_vars& env = {},
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

} // namespace chatnode::testing

// chatnode: a horizontally scalable WebSocket chat node.

#include "node/config.hpp"
#include "node/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: chatnode [options]

Runs a chat node: the browser client, the WebSocket endpoint /ws, /healthz,
/readyz and /metrics on one port.

options:
  --config PATH      configuration file (default config/node.toml)
  --listen ADDR:PORT address to listen on (port 0: any free port)
  --node NAME        node name shown to clients and in logs
  --redis URL        redis://[:password@]host:port[/db] to join other nodes
  --web-root DIR     directory of the browser client
  --log-level LEVEL  trace, debug, info, warn or error
  --check-config     validate the configuration, print it and exit
  --version          print the version and exit
  --help             print this help and exit

Settings come from the file, then CHATNODE_<SECTION>_<KEY> environment
variables, then these flags.
)";

struct flag_setting {
  std::string_view flag;
  std::string_view key;
};

constexpr flag_setting flag_settings[] = {
  {"--listen", "node.listen"},       {"--node", "node.name"},
  {"--redis", "redis.url"},          {"--web-root", "node.web_root"},
  {"--log-level", "log.level"},
};

int fail(const std::string& message) {
  std::fprintf(stderr, "chatnode: %s\n", message.c_str());
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string config_path = "config/node.toml";
  bool check_only = false;
  std::vector<std::pair<const flag_setting*, std::string>> overrides;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    std::string value;
    // Both "--flag value" and "--flag=value".
    auto eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    auto take_value = [&]() -> bool {
      if (eq != std::string_view::npos) {
        value = std::string{arg.substr(eq + 1)};
        return true;
      }
      if (i + 1 >= argc)
        return false;
      value = argv[++i];
      return true;
    };
    if (name == "--help" || name == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (name == "--version") {
      std::printf("chatnode %s (protocol 1)\n", CHATNODE_VERSION);
      return 0;
    }
    if (name == "--check-config") {
      check_only = true;
      continue;
    }
    if (name == "--config") {
      if (!take_value())
        return fail("--config needs a path");
      config_path = value;
      continue;
    }
    const flag_setting* known = nullptr;
    for (const auto& f : flag_settings)
      if (f.flag == name)
        known = &f;
    if (known == nullptr)
      return fail("unknown option " + std::string{arg} + " (see --help)");
    if (!take_value())
      return fail(std::string{name} + " needs a value");
    overrides.emplace_back(known, value);
  }

  auto result = chatnode::load_config(config_path);
  if (auto* config = std::get_if<chatnode::node_config>(&result))
    result = chatnode::apply_environment(std::move(*config), [](const char* n) { return std::getenv(n); });
  for (const auto& [flag, value] : overrides) {
    auto* config = std::get_if<chatnode::node_config>(&result);
    if (config == nullptr)
      break;
    result = chatnode::apply_setting(std::move(*config), flag->key, value, flag->flag);
  }
  if (auto* error = std::get_if<chatnode::config_error>(&result))
    return fail(error->message);
  const auto& config = std::get<chatnode::node_config>(result);

  if (check_only) {
    std::printf("# effective configuration: %s, CHATNODE_* variables and flags\n%s",
                config_path.c_str(), chatnode::to_toml(config).c_str());
    return 0;
  }
  return chatnode::run_server(config);
}

// chatnode: a horizontally scalable WebSocket chat node.

#include "actors/wire/protocol.hpp"
#include "actors/people/token.hpp"
#include "node/process/health_probe.hpp"
#include "node/process/config.hpp"
#include "node/process/server.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: chatnode [options]
       chatnode token --name NAME [--rooms PATTERN] [--ttl SECONDS] [--role moderator|admin] [--config PATH]
       chatnode health [URL]

Runs a chat node: the browser client, the WebSocket endpoint /ws, /healthz,
/readyz and /metrics on one port.

options:
  --config PATH      configuration file (default config/node.toml)
  --listen ADDR:PORT address to listen on (port 0: any free port)
  --node NAME        node name shown to clients and in logs
  --redis URL        redis://[:password@]host:port[/db] to join other nodes
  --archive URL      postgresql://user:password@host:port/db to archive every message and search it
  --web-root DIR     directory of the browser client
  --log-level LEVEL  trace, debug, info, warn or error
  --check-config     validate the configuration, print it and exit
  --version          print the version and exit
  --help             print this help and exit

Settings come from the file, then CHATNODE_<SECTION>_<KEY> environment
variables, then these flags.

chatnode token prints a join token signed with the configured [auth] secret
(or CHATNODE_AUTH_SECRET): for display name NAME, rooms matching PATTERN
(comma-separated, * for any characters; default *), valid for SECONDS
(default 86400); with --role, for a moderator or an admin.

chatnode health GETs URL (default http://127.0.0.1:8080/healthz) and exits 0
when it answers 200 within 3 seconds, else 1: a container health check.
)";

struct flag_setting {
  std::string_view flag;
  std::string_view key;
};

constexpr flag_setting flag_settings[] = {
  {"--listen", "node.listen"},  {"--node", "node.name"},         {"--redis", "redis.url"},
  {"--archive", "archive.url"}, {"--web-root", "node.web_root"}, {"--log-level", "log.level"},
};

/// The configuration from a file and the environment, as the node would read it.
chatnode::config_result read_config(const std::string& path) {
  auto result = chatnode::load_config(path);
  if (auto* config = std::get_if<chatnode::node_config>(&result))
    result = chatnode::apply_environment(std::move(*config), [](const char* n) { return std::getenv(n); });
  return result;
}

int mint_token_command(int argc, char** argv) {
  std::string config_path = "config/node.toml";
  chatnode::token_claims claims;
  claims.rooms = "*";
  std::int64_t ttl = 86400;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (i + 1 >= argc)
      return chatnode::startup_error(std::string{arg} + " needs a value (see --help)");
    std::string_view value{argv[++i]};
    if (arg == "--name") {
      claims.name = std::string{value};
    } else if (arg == "--rooms") {
      claims.rooms = std::string{value};
    } else if (arg == "--config") {
      config_path = std::string{value};
    } else if (arg == "--role") {
      claims.role = chatnode::role_named(value);
      if (claims.role == chatnode::user_role::member)
        return chatnode::startup_error("--role is moderator or admin");
    } else if (arg == "--ttl") {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ttl);
      if (ec != std::errc{} || end != value.data() + value.size() || ttl <= 0)
        return chatnode::startup_error("--ttl needs a positive number of seconds");
    } else {
      return chatnode::startup_error("unknown option " + std::string{arg} + " for token (see --help)");
    }
  }
  if (claims.name.empty() || chatnode::utf8_length(claims.name) > chatnode::max_name_chars)
    return chatnode::startup_error("token needs --name with 1 to 32 characters");
  if (claims.rooms.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-*, ") != std::string::npos)
    return chatnode::startup_error(
      "--rooms takes room names and patterns: A-Z a-z 0-9 _ . - and * for any characters, comma-separated");
  auto result = read_config(config_path);
  if (auto* error = std::get_if<chatnode::config_error>(&result))
    return chatnode::startup_error(error->message);
  const auto& secret = std::get<chatnode::node_config>(result).auth_secret;
  if (secret.empty())
    return chatnode::startup_error(
      "no [auth] secret is configured (set it in the file or CHATNODE_AUTH_SECRET)");
  auto now =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
  claims.expires = now + ttl;
  std::printf("%s\n", chatnode::mint_token(secret, claims).c_str());
  return 0;
}

int health_command(int argc, char** argv) {
  if (argc > 3)
    return chatnode::startup_error("health takes at most one URL (see --help)");
  std::string url = argc == 3 ? argv[2] : "http://127.0.0.1:8080/healthz";
  auto probed = chatnode::probe_health(url, std::chrono::seconds{3});
  if (chatnode::ok(probed))
    return 0;
  return chatnode::startup_error(url + ": " + chatnode::error_of(probed), 1);
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view{argv[1]} == "token")
    return mint_token_command(argc, argv);
  if (argc > 1 && std::string_view{argv[1]} == "health")
    return health_command(argc, argv);

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
        return chatnode::startup_error("--config needs a path");
      config_path = value;
      continue;
    }
    const flag_setting* known = nullptr;
    for (const auto& f : flag_settings)
      if (f.flag == name)
        known = &f;
    if (known == nullptr)
      return chatnode::startup_error("unknown option " + std::string{arg} + " (see --help)");
    if (!take_value())
      return chatnode::startup_error(std::string{name} + " needs a value");
    overrides.emplace_back(known, value);
  }

  auto result = read_config(config_path);
  for (const auto& [flag, value] : overrides) {
    auto* config = std::get_if<chatnode::node_config>(&result);
    if (config == nullptr)
      break;
    result = chatnode::apply_setting(std::move(*config), flag->key, value, flag->flag);
  }
  if (auto* error = std::get_if<chatnode::config_error>(&result))
    return chatnode::startup_error(error->message);
  const auto& config = std::get<chatnode::node_config>(result);
  if (auto conflict = chatnode::config_conflict(config); !conflict.empty())
    return chatnode::startup_error(conflict);

  if (check_only) {
    auto shown = config;
    if (!shown.auth_secret.empty())
      shown.auth_secret = "(hidden)"; // never printed: logs and terminals keep it
    if (!shown.api_key.empty())
      shown.api_key = "(hidden)";
    if (!shown.webhooks_secret.empty())
      shown.webhooks_secret = "(hidden)";
    shown.redis_url = chatnode::without_password(shown.redis_url);
    shown.archive_url = chatnode::without_password(shown.archive_url);
    std::printf("# effective configuration: %s, CHATNODE_* variables and flags\n%s", config_path.c_str(),
                chatnode::to_toml(shown).c_str());
    return 0;
  }
  return chatnode::run_server(config);
}

// HTTP endpoints, static files and the process lifecycle of a real chatnode.
#define BOOST_TEST_MODULE chatnode integration : http and lifecycle
#include "common.hpp"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace chatnode::testing;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.erase(s.begin());
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The line of `text` that contains every one of `needles`, or "".
std::string line_with(const std::string& text, std::initializer_list<std::string> needles) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line.find(n) != std::string::npos; }))
      return line;
  return {};
}

// Contains "<digits>.<digits>.<digits>".
bool has_version_number(const std::string& s) {
  auto digits = [&](std::size_t& i) {
    std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    return i > start;
  };
  for (std::size_t start = 0; start < s.size(); ++start) {
    std::size_t i = start;
    if (digits(i) && i < s.size() && s[i] == '.' && digits(++i) && i < s.size() && s[i] == '.' && digits(++i))
      return true;
  }
  return false;
}

} // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(health_and_metrics)

BOOST_FIXTURE_TEST_CASE(healthz_is_ok, node_fixture) {
  auto r = get(node, "/healthz");
  BOOST_TEST(r.status == 200, "status " << r.status << " " << r.error);
  BOOST_TEST(trim(r.body) == "ok");
}

BOOST_FIXTURE_TEST_CASE(health_command_checks_a_running_node, node_fixture) {
  const std::string base = "http://127.0.0.1:" + std::to_string(node.port());
  auto ok = run_chatnode({"health", base + "/healthz"});
  BOOST_TEST(ok.status == 0, "stderr: " << ok.err);
  auto missing = run_chatnode({"health", base + "/no-such-page"});
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(!line_with(missing.err, {"answered 404"}).empty(), missing.err);
  auto refused = run_chatnode({"health", "http://127.0.0.1:1/healthz"});
  BOOST_TEST(refused.status == 1);
  auto bad = run_chatnode({"health", "ftp://nowhere"});
  BOOST_TEST(bad.status == 1);
  BOOST_TEST(!line_with(bad.err, {"not an http"}).empty(), bad.err);
}

BOOST_FIXTURE_TEST_CASE(readyz_is_ready_without_redis, node_fixture) {
  auto r = get(node, "/readyz");
  BOOST_TEST(r.status == 200, "status " << r.status << " body " << r.body);
  BOOST_TEST(trim(r.body) == "ready");
}

BOOST_FIXTURE_TEST_CASE(metrics_declares_every_documented_family, node_fixture) {
  auto r = get(node, "/metrics");
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(starts_with(lower(r.header("Content-Type")), "text/plain"),
             "Content-Type " << r.header("Content-Type"));
  const std::pair<const char*, const char*> families[] = {
    {"chatnode_connections", "gauge"},
    {"chatnode_connections_total", "counter"},
    {"chatnode_rooms", "gauge"},
    {"chatnode_messages_in_total", "counter"},
    {"chatnode_messages_stored_total", "counter"},
    {"chatnode_messages_out_total", "counter"},
    {"chatnode_bytes_in_total", "counter"},
    {"chatnode_bytes_out_total", "counter"},
    {"chatnode_errors_total", "counter"},
    {"chatnode_slow_consumer_closes_total", "counter"},
    {"chatnode_fanout_latency_seconds", "histogram"},
    {"chatnode_limit_hits_total", "counter"},
    {"chatnode_presence_resyncs_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    BOOST_TEST(metric_has_help(r.body, name), "no # HELP for " << name);
    BOOST_TEST(metric_type(r.body, name) == type, "# TYPE of " << name);
  }
  for (const char* series :
       {"chatnode_connections", "chatnode_connections_total", "chatnode_rooms", "chatnode_messages_in_total",
        "chatnode_messages_stored_total", "chatnode_messages_out_total", "chatnode_bytes_in_total",
        "chatnode_bytes_out_total", "chatnode_slow_consumer_closes_total",
        "chatnode_fanout_latency_seconds_count", "chatnode_fanout_latency_seconds_sum"}) {
    BOOST_TEST(metric_value(r.body, series).has_value(), "no sample " << series);
  }
  BOOST_TEST(r.body.find("chatnode_fanout_latency_seconds_bucket{le=\"+Inf\"}") != std::string::npos);
  // Each error code is a series of its own (initialised, so rate() works from the start).
  for (const char* code : {"bad_json", "bad_request", "not_joined", "too_large", "rate_limited",
                           "unavailable", "unauthorized"}) {
    std::string series = std::string("chatnode_errors_total{code=\"") + code + "\"}";
    BOOST_WARN_MESSAGE(metric_value(r.body, series).has_value(),
                       "series " << series << " not exported before its first error");
  }
  // Every limit a client can run into is a series from the start.
  for (const char* limit : {"connections", "connections_per_address", "header_timeout", "header_size",
                            "frame_size", "invalid_utf8", "idle_timeout", "json_depth", "rate",
                            "outbound_queue", "rooms_per_session", "origin", "auth"}) {
    std::string series = std::string("chatnode_limit_hits_total{limit=\"") + limit + "\"}";
    BOOST_TEST(metric_value(r.body, series).value_or(-1.0) == 0.0, "series " << series);
  }
}

BOOST_FIXTURE_TEST_CASE(metrics_move_with_traffic, node_fixture) {
  const std::string before = metrics_text(node);
  auto m0 = [&](const std::string& s) { return metric_or_zero(before, s); };
  BOOST_TEST(m0("chatnode_connections") == 0);

  const std::string room = unique_name("metrics");
  {
    ws_client c = open_client(node);
    join(c, room, "meter");
    for (int i = 0; i < 3; ++i)
      send_and_ack(c, room, std::string("hello ").append(std::to_string(i)),
                   std::string("m").append(std::to_string(i)));
    BOOST_REQUIRE(c.send_text("this is not json"));
    BOOST_REQUIRE(c.wait_for(is_error("bad_json"), after(5s)));

    // series -> least value expected now
    const std::vector<std::pair<std::string, double>> expected = {
      {"chatnode_connections", 1},
      {"chatnode_connections_total", m0("chatnode_connections_total") + 1},
      {"chatnode_rooms", 1},
      {"chatnode_messages_in_total", m0("chatnode_messages_in_total") + 5}, // join, 3 sends, bad
      {"chatnode_messages_stored_total", m0("chatnode_messages_stored_total") + 3},
      // welcome, joined, 3 messages, error
      {"chatnode_messages_out_total", m0("chatnode_messages_out_total") + 6},
      {"chatnode_bytes_in_total", m0("chatnode_bytes_in_total") + 1},
      {"chatnode_bytes_out_total", m0("chatnode_bytes_out_total") + 1},
      {"chatnode_fanout_latency_seconds_count", m0("chatnode_fanout_latency_seconds_count") + 1},
      {"chatnode_errors_total{code=\"bad_json\"}", m0("chatnode_errors_total{code=\"bad_json\"}") + 1},
    };
    std::string now, short_of;
    bool moved = eventually(
      [&] {
        now = metrics_text(node);
        short_of.clear();
        for (const auto& [series, least] : expected) {
          double v = metric_or_zero(now, series);
          if (v < least)
            short_of += series + " = " + std::to_string(v) + " (expected >= " + std::to_string(least) + ")\n";
        }
        if (metric_or_zero(now, "chatnode_connections") != 1)
          short_of +=
            "chatnode_connections = " + std::to_string(metric_or_zero(now, "chatnode_connections")) +
            " (expected 1)\n";
        return short_of.empty();
      },
      after(5s));
    BOOST_TEST(moved, "metrics did not move as expected:\n" << short_of);
    c.close();
  }
  std::string closed;
  bool back = eventually(
    [&] {
      closed = metrics_text(node);
      return metric_or_zero(closed, "chatnode_connections") == 0 &&
             metric_or_zero(closed, "chatnode_rooms") == 0;
    },
    after(5s));
  BOOST_TEST(back, "connections/rooms gauges did not return to 0:\n" << closed);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(static_files)

BOOST_FIXTURE_TEST_CASE(root_serves_index_html, node_fixture) {
  auto r = get(node, "/");
  BOOST_REQUIRE_MESSAGE(r.status == 200, "status " << r.status << " " << r.error);
  BOOST_TEST(starts_with(lower(r.header("Content-Type")), "text/html"),
             "Content-Type " << r.header("Content-Type"));
  BOOST_TEST(r.body == slurp(source_dir() + "/web/index.html"));
  auto direct = get(node, "/index.html");
  BOOST_TEST(direct.status == 200);
  BOOST_TEST(direct.body == r.body);
}

BOOST_FIXTURE_TEST_CASE(content_types, node_fixture) {
  auto js = get(node, "/app.js");
  BOOST_TEST(js.status == 200, "/app.js status " << js.status);
  std::string js_type = lower(js.header("Content-Type"));
  BOOST_TEST((starts_with(js_type, "application/javascript") || starts_with(js_type, "text/javascript")),
             "/app.js Content-Type " << js_type);
  BOOST_TEST(js.body == slurp(source_dir() + "/web/app.js"));

  auto css = get(node, "/style.css");
  BOOST_TEST(css.status == 200, "/style.css status " << css.status);
  BOOST_TEST(starts_with(lower(css.header("Content-Type")), "text/css"),
             "/style.css Content-Type " << css.header("Content-Type"));
  BOOST_TEST(css.body == slurp(source_dir() + "/web/style.css"));
}

BOOST_FIXTURE_TEST_CASE(missing_file_is_404, node_fixture) {
  for (const char* target : {"/no-such-file.html", "/nested/dir/missing.js", "/app.js.bak"}) {
    auto r = get(node, target);
    BOOST_TEST(r.status == 404, target << " status " << r.status);
  }
}

BOOST_FIXTURE_TEST_CASE(traversal_never_escapes_the_web_root, node_fixture) {
  // web root is <source>/web, so "../config/node.toml" is a real file one level up.
  const char* targets[] = {
    "/../config/node.toml",
    "/%2e%2e/config/node.toml",
    "/%2E%2E/config/node.toml",
    "/..%2fconfig/node.toml",
    "/..%2Fconfig%2Fnode.toml",
    "/.%2e/config/node.toml",
    "/%2e%2e%2fconfig%2fnode.toml",
    "/./../config/node.toml",
    "/web/../../config/node.toml",
    "/..\\config\\node.toml",
    "/..%5cconfig%5cnode.toml",
    "//etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/web/../../etc/passwd",
    "/..%252fconfig/node.toml",
    "/index.html%00.txt",
    "/%00",
    "../config/node.toml",
  };
  for (const char* target : targets) {
    auto r = get(node, target);
    BOOST_TEST((r.status == 400 || r.status == 404),
               "target " << target << " status " << r.status << " " << r.error);
    BOOST_TEST(r.body.find("[limits]") == std::string::npos,
               "target " << target << " returned the config file");
    BOOST_TEST(r.body.find("root:") == std::string::npos, "target " << target << " returned /etc/passwd");
  }
  // The node is still serving afterwards.
  BOOST_TEST(get(node, "/healthz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(lifecycle)

namespace {

// SIGTERM (an orchestrator restarting the node) closes sessions with 1012 "service restart",
// spread over [shutdown] drain_seconds; SIGINT closes them at once with 1001. Either way
// the node stops accepting and exits 0 within 5 s.
void signal_closes_sessions(int sig, int expected_code) {
  node_fixture f;
  const std::string room = unique_name("shutdown");
  std::vector<ws_client> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(open_client(f.node));
    join(clients.back(), room, "user" + std::to_string(i));
  }
  const auto signalled = steady::now();
  BOOST_REQUIRE(f.node.send_signal(sig));
  for (auto& c : clients) {
    auto code = c.expect_close(signalled + 5s, /*keep_events=*/false);
    BOOST_TEST(code.has_value(), "client not closed within 5 s");
    if (code)
      BOOST_TEST(*code == expected_code, "close code " << *code << " reason '" << c.close_reason() << "'");
  }
  auto status = f.node.wait_exit(signalled + 5s);
  BOOST_TEST(status.has_value(), "node still running 5 s after the signal");
  if (status)
    BOOST_TEST(*status == 0);
  // A new connection is refused once the node has stopped accepting.
  ws_client late;
  BOOST_TEST(late.connect(f.node.host(), f.node.port()) != 101);
}

} // namespace

BOOST_AUTO_TEST_CASE(sigterm_closes_sessions_with_1012_and_exits_0) {
  signal_closes_sessions(SIGTERM, 1012);
}

BOOST_AUTO_TEST_CASE(sigint_closes_sessions_with_1001_and_exits_0) {
  signal_closes_sessions(SIGINT, 1001);
}

// A SIGTERM right after the listening line (what a supervisor may do) must already be
// handled: repeated, since a missing handler only shows as a race.
BOOST_AUTO_TEST_CASE(sigterm_right_after_start_exits_0) {
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST_CONTEXT("round " << i) {
      node_fixture f;
      BOOST_REQUIRE(f.node.send_signal(SIGTERM));
      auto status = f.node.wait_exit(after(5s));
      BOOST_REQUIRE(status.has_value());
      BOOST_TEST(*status == 0, "exit status " << *status << " (128 + 15: killed by SIGTERM)");
    }
  }
}

BOOST_AUTO_TEST_CASE(version_prints_a_version) {
  auto r = run_chatnode({"--version"});
  BOOST_TEST(r.status == 0, "stderr: " << r.err);
  BOOST_TEST(has_version_number(r.out), "stdout: " << r.out);
  BOOST_TEST(r.out.find("chatnode") != std::string::npos, "stdout: " << r.out);
}

BOOST_AUTO_TEST_CASE(help_prints_usage) {
  auto r = run_chatnode({"--help"});
  BOOST_TEST(r.status == 0);
  for (const char* flag : {"--config", "--listen", "--node", "--redis", "--web-root", "--log-level",
                           "--check-config", "--version"})
    BOOST_TEST(r.out.find(flag) != std::string::npos, "help does not mention " << flag);
}

BOOST_AUTO_TEST_CASE(check_config_prints_the_effective_config) {
  const std::string config = source_dir() + "/config/node.toml";
  auto r = run_chatnode({"--config", config, "--check-config"});
  BOOST_TEST(r.status == 0, "stderr: " << r.err);
  BOOST_TEST(!r.timed_out);
  for (const char* key : {"max_frame_bytes", "rate_per_second", "rate_burst", "outbound_queue", "retention",
                          "allowed_origins", "grace_seconds"})
    BOOST_TEST(r.out.find(key) != std::string::npos, "output does not show " << key);
  BOOST_TEST(!line_with(r.out, {"rate_burst", "40"}).empty(), r.out);

  // Environment overrides the file and flags override both.
  auto o = run_chatnode({"--config", config, "--check-config", "--listen", "127.0.0.1:9"},
                        {{"CHATNODE_LIMITS_RATE_BURST", "77"}, {"CHATNODE_NODE_LISTEN", "127.0.0.1:8"}});
  BOOST_TEST(o.status == 0, "stderr: " << o.err);
  BOOST_TEST(!line_with(o.out, {"rate_burst", "77"}).empty(), o.out);
  BOOST_TEST(!line_with(o.out, {"listen", "127.0.0.1:9"}).empty(), o.out);
}

BOOST_AUTO_TEST_CASE(check_config_never_prints_the_secret) {
  const std::string secret = "s3cret-value-that-must-not-leak";
  auto r = run_chatnode({"--config", source_dir() + "/config/node.toml", "--check-config"},
                        {{"CHATNODE_AUTH_SECRET", secret}});
  BOOST_TEST(r.status == 0, "stderr: " << r.err);
  BOOST_TEST(r.out.find(secret) == std::string::npos, r.out);
  BOOST_TEST(!line_with(r.out, {"secret", "hidden"}).empty(), r.out);
}

BOOST_AUTO_TEST_CASE(token_command_mints_a_token_for_the_configured_secret) {
  const std::string config = source_dir() + "/config/node.toml";
  auto r = run_chatnode({"token", "--name", "ada", "--rooms", "team-*", "--ttl", "60", "--config", config},
                        {{"CHATNODE_AUTH_SECRET", "0123456789abcdef0123"}});
  BOOST_TEST(r.status == 0, "stderr: " << r.err);
  // header.payload.signature, base64url, one line.
  auto token = r.out.substr(0, r.out.find('\n'));
  BOOST_TEST(std::count(token.begin(), token.end(), '.') == 2, token);
  BOOST_TEST(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
               std::string::npos,
             token);

  auto no_secret = run_chatnode({"token", "--name", "ada", "--config", config});
  BOOST_TEST(no_secret.status == 2);
  BOOST_TEST(!line_with(no_secret.err, {"secret"}).empty(), no_secret.err);
  auto no_name =
    run_chatnode({"token", "--config", config}, {{"CHATNODE_AUTH_SECRET", "0123456789abcdef0123"}});
  BOOST_TEST(no_name.status == 2);
  BOOST_TEST(!line_with(no_name.err, {"--name"}).empty(), no_name.err);
}

BOOST_AUTO_TEST_CASE(bad_environment_override_is_refused) {
  auto r = run_chatnode({"--config", source_dir() + "/config/node.toml", "--check-config"},
                        {{"CHATNODE_LIMITS_RATE_BURST", "lots"}}, 5000ms);
  BOOST_TEST(!r.timed_out);
  BOOST_TEST(r.status != 0);
  BOOST_TEST(!line_with(r.err, {"CHATNODE_LIMITS_RATE_BURST"}).empty(), "stderr does not name the variable:\n"
                                                                          << r.err);
}

BOOST_AUTO_TEST_CASE(unknown_or_bad_config_key_is_refused) {
  const std::string original = slurp(source_dir() + "/config/node.toml");
  const auto limits = original.find("[limits]\n");
  BOOST_REQUIRE(limits != std::string::npos);

  char tmpl[] = "/tmp/chatnode-it-config-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  struct config_case {
    std::string file, key, content, line; // line: ":<line number>" of the bad key
  };
  auto line_of = [](const std::string& text, std::size_t pos) {
    return ":" + std::to_string(
                   std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n') + 1);
  };
  std::string with_unknown = original;
  with_unknown.insert(limits + 9, "bogus_knob = 1\n");
  std::string with_bad_value = original;
  auto burst = with_bad_value.find("rate_burst = 40");
  BOOST_REQUIRE(burst != std::string::npos);
  with_bad_value.replace(burst, 15, "rate_burst = \"lots\"");
  const config_case cases[] = {
    {"unknown.toml", "bogus_knob", with_unknown, line_of(with_unknown, limits + 9)},
    {"badvalue.toml", "rate_burst", with_bad_value, line_of(with_bad_value, burst)}};

  for (const auto& c : cases) {
    const std::string path = dir + "/" + c.file;
    std::ofstream(path) << c.content;
    for (bool check_only : {true, false}) {
      BOOST_TEST_CONTEXT(c.file << (check_only ? " with --check-config" : " serving")) {
        std::vector<std::string> args{"--config",    path,         "--listen",
                                      "127.0.0.1:0", "--web-root", source_dir() + "/web"};
        if (check_only)
          args.push_back("--check-config");
        auto r = run_chatnode(args, {}, 5000ms);
        BOOST_TEST(!r.timed_out, "node did not exit; stdout: " << r.out);
        BOOST_TEST(r.status != 0);
        BOOST_TEST(r.out.find("listening") == std::string::npos);
        BOOST_TEST(!line_with(r.err, {c.key, c.file}).empty(),
                   "no stderr line names both " << c.key << " and " << c.file << "; stderr:\n"
                                                << r.err);
        BOOST_TEST(!line_with(r.err, {c.key, c.file + c.line}).empty(),
                   "no stderr line names " << c.key << " and " << c.file << c.line << "; stderr:\n"
                                           << r.err);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

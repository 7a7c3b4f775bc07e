#include "node/process/config.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

using namespace chatnode;

namespace {

node_config parse_ok(std::string_view text) {
  auto result = parse_config(text, "test.toml");
  if (auto* err = std::get_if<config_error>(&result))
    BOOST_FAIL("unexpected error: " << err->message);
  return std::get<node_config>(result);
}

std::string parse_error(std::string_view text) {
  auto result = parse_config(text, "test.toml");
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<config_error>(result), "accepted: " << text);
  return std::get<config_error>(result).message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(the_shipped_file_parses_to_the_defaults) {
  auto result = load_config(CHATNODE_SOURCE_DIR "/config/node.toml");
  BOOST_REQUIRE(std::holds_alternative<node_config>(result));
  // Every key of the file is shown with its default: the same text results.
  BOOST_TEST(to_toml(std::get<node_config>(result)) == to_toml(node_config{}));
}

BOOST_AUTO_TEST_CASE(the_kubernetes_config_parses_and_names_redis) {
  auto result = load_config(CHATNODE_SOURCE_DIR "/deploy/k8s/node.toml");
  BOOST_REQUIRE(std::holds_alternative<node_config>(result));
  auto c = std::get<node_config>(result);
  BOOST_TEST(c.redis_url == "redis://redis:6379");
  BOOST_TEST(c.web_root == "/app/web");
  BOOST_TEST(c.max_connections_per_address == 0);
  BOOST_TEST(c.log_format == "json"); // for the cluster's log collector
  // Everything else as shipped in config/node.toml.
  c.redis_url.clear();
  c.web_root = "web";
  c.max_connections_per_address = node_config{}.max_connections_per_address;
  c.log_format = node_config{}.log_format;
  BOOST_TEST(to_toml(c) == to_toml(node_config{}));
}

BOOST_AUTO_TEST_CASE(reads_values) {
  auto c = parse_ok(R"(
[node]
name = "n1"
listen = "127.0.0.1:9000"
[limits]
rate_per_second = 5     # an integer where a float is expected is fine
rate_burst = 7
max_connections_per_address = 0
idle_timeout_seconds = 30
max_json_depth = 4
[http]
allowed_origins = ["https://chat.example.com"]
allow_missing_origin = false
header_timeout_seconds = 2.5
max_header_bytes = 4096
[auth]
secret = "0123456789abcdef"
)");
  BOOST_TEST(c.name == "n1");
  BOOST_TEST(c.listen == "127.0.0.1:9000");
  BOOST_TEST(c.rate_per_second == 5.0);
  BOOST_TEST(c.rate_burst == 7);
  BOOST_TEST(c.allowed_origins.size() == 1u);
  BOOST_TEST(!c.allow_missing_origin);
  BOOST_TEST(c.max_connections_per_address == 0);
  BOOST_TEST(c.idle_timeout_seconds == 30.0);
  BOOST_TEST(c.max_json_depth == 4);
  BOOST_TEST(c.header_timeout_seconds == 2.5);
  BOOST_TEST(c.max_header_bytes == 4096);
  BOOST_TEST(c.auth_secret == "0123456789abcdef");
  BOOST_TEST(c.retention == 1000); // untouched keys keep their defaults
}

BOOST_AUTO_TEST_CASE(errors_name_file_line_key_and_problem) {
  auto unknown = parse_error("[node]\nlisten = \"0.0.0.0:1\"\nlisen = \"x\"\n");
  BOOST_TEST(unknown.find("test.toml:3") != std::string::npos, unknown);
  BOOST_TEST(unknown.find("node.lisen") != std::string::npos, unknown);
  BOOST_TEST(unknown.find("unknown key") != std::string::npos, unknown);

  auto section = parse_error("[nodes]\nname = \"x\"\n");
  BOOST_TEST(section.find("nodes") != std::string::npos, section);

  auto type = parse_error("[limits]\nrate_burst = \"many\"\n");
  BOOST_TEST(type.find("test.toml:2") != std::string::npos, type);
  BOOST_TEST(type.find("limits.rate_burst") != std::string::npos, type);
  BOOST_TEST(type.find("integer") != std::string::npos, type);

  auto range = parse_error("[history]\npage_size = 500\n");
  BOOST_TEST(range.find("history.page_size") != std::string::npos, range);
  BOOST_TEST(range.find("1 to 100") != std::string::npos, range);

  auto syntax = parse_error("[node\n");
  BOOST_TEST(syntax.find("test.toml:1") != std::string::npos, syntax);

  for (auto bad :
       {"[node]\nlisten = \"8080\"\n", "[node]\nlisten = \"h:99999\"\n", "[log]\nlevel = \"loud\"\n",
        "[redis]\nurl = \"http://x\"\n", "[limits]\nrate_per_second = -1\n",
        "[http]\nallowed_origins = [1]\n", "[http]\nallow_missing_origin = \"yes\"\n",
        "[node]\nname = \"a b\"\n", "[auth]\nsecret = \"short\"\n", "[limits]\nmax_json_depth = 0\n",
        "[http]\nmax_header_bytes = 100\n", "[limits]\nidle_timeout_seconds = 0\n"})
    parse_error(bad);

  auto missing = load_config("/nonexistent/chatnode.toml");
  BOOST_REQUIRE(std::holds_alternative<config_error>(missing));
  BOOST_TEST(std::get<config_error>(missing).message.find("/nonexistent/chatnode.toml") == 0u);
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_file_and_flags_override_both) {
  std::map<std::string, std::string> env{
    {"CHATNODE_NODE_LISTEN", "127.0.0.1:7000"},
    {"CHATNODE_LIMITS_RATE_PER_SECOND", "2.5"},
    {"CHATNODE_HTTP_ALLOWED_ORIGINS", "http://a.example, http://b.example"},
    {"CHATNODE_HTTP_ALLOW_MISSING_ORIGIN", "false"},
    {"UNRELATED", "x"},
  };
  auto lookup = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto result = apply_environment(parse_ok("[node]\nlisten = \"0.0.0.0:1\"\n"), lookup);
  BOOST_REQUIRE(std::holds_alternative<node_config>(result));
  auto c = std::get<node_config>(result);
  BOOST_TEST(c.listen == "127.0.0.1:7000");
  BOOST_TEST(c.rate_per_second == 2.5);
  BOOST_TEST(c.allowed_origins.size() == 2u);
  BOOST_TEST(c.allowed_origins[1] == "http://b.example");
  BOOST_TEST(!c.allow_missing_origin);

  auto flagged = apply_setting(c, "node.listen", "127.0.0.1:0", "--listen");
  BOOST_REQUIRE(std::holds_alternative<node_config>(flagged));
  BOOST_TEST(std::get<node_config>(flagged).listen == "127.0.0.1:0");

  env = {{"CHATNODE_LIMITS_RATE_BURST", "lots"}};
  auto bad = apply_environment(node_config{}, lookup);
  BOOST_REQUIRE(std::holds_alternative<config_error>(bad));
  auto message = std::get<config_error>(bad).message;
  BOOST_TEST(message.find("CHATNODE_LIMITS_RATE_BURST") != std::string::npos, message);

  auto bad_flag = apply_setting(node_config{}, "node.listen", "nowhere", "--listen");
  BOOST_REQUIRE(std::holds_alternative<config_error>(bad_flag));
  BOOST_TEST(std::get<config_error>(bad_flag).message.find("--listen") == 0u);
}

BOOST_AUTO_TEST_CASE(redis_mode_is_single_or_cluster) {
  BOOST_TEST(node_config{}.redis_mode == "single");
  auto cluster = apply_setting(node_config{}, "redis.mode", "cluster", "CHATNODE_REDIS_MODE");
  BOOST_REQUIRE(std::holds_alternative<node_config>(cluster));
  BOOST_TEST(std::get<node_config>(cluster).redis_mode == "cluster");
  auto bad = apply_setting(node_config{}, "redis.mode", "sentinel", "CHATNODE_REDIS_MODE");
  BOOST_REQUIRE(std::holds_alternative<config_error>(bad));
  BOOST_TEST(std::get<config_error>(bad).message.find("\"single\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(listen_addresses) {
  auto v4 = std::get<listen_address>(parse_listen("0.0.0.0:8080"));
  BOOST_TEST(v4.host == "0.0.0.0");
  BOOST_TEST(v4.port == 8080);
  auto v6 = std::get<listen_address>(parse_listen("[::1]:0"));
  BOOST_TEST(v6.host == "::1");
  BOOST_TEST(v6.port == 0);
  for (auto bad : {"", ":80", "host", "host:", "host:x", "host:65536"})
    BOOST_TEST(std::holds_alternative<std::string>(parse_listen(bad)), bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_file_store_is_a_directory_or_an_s3_bucket) {
  BOOST_TEST(std::get<node_config>(parse_config("", "t")).files_store == "dir:data/files");
  auto ok = parse_config("[files]\nstore = \"dir:/var/lib/chatnode/files\"\n", "t");
  BOOST_REQUIRE(std::holds_alternative<node_config>(ok));
  BOOST_TEST(std::get<node_config>(ok).files_store == "dir:/var/lib/chatnode/files");
  auto s3 = parse_config(
    "[files]\nstore = \"s3://chat-files.example\"\ns3_endpoint = \"http://minio:9000\"\n"
    "s3_region = \"eu-west-3\"\ns3_path_style = true\n",
    "t");
  BOOST_REQUIRE(std::holds_alternative<node_config>(s3));
  BOOST_TEST(std::get<node_config>(s3).files_store == "s3://chat-files.example");
  BOOST_TEST(std::get<node_config>(s3).files_s3_endpoint == "http://minio:9000");
  BOOST_TEST(std::get<node_config>(s3).files_s3_region == "eu-west-3");
  BOOST_TEST(std::get<node_config>(s3).files_s3_path_style);
  for (auto bad :
       {"store = \"/var/files\"", "store = \"dir:\"", "store = \"s3://\"", "store = \"s3://Bucket\"",
        "store = \"s3://-b-\"", "store = \"s3://ab\"", "s3_endpoint = \"ftp://x\"",
        "s3_endpoint = \"http://x/path\"", "s3_region = \"\"", "s3_region = \"EU WEST\"", "dir = \"data\""})
    BOOST_TEST(std::holds_alternative<config_error>(parse_config(std::string{"[files]\n"} + bad + "\n", "t")),
               bad);
}

BOOST_AUTO_TEST_CASE(the_archive_url_is_postgresql_and_passwords_are_never_shown) {
  auto ok = parse_config(
    "[archive]\nurl = \"postgresql://chatnode:pw@db:5432/chatnode\"\nretention_days = 30\n", "t");
  BOOST_REQUIRE(std::holds_alternative<node_config>(ok));
  BOOST_TEST(std::get<node_config>(ok).archive_url == "postgresql://chatnode:pw@db:5432/chatnode");
  BOOST_TEST(std::get<node_config>(ok).archive_retention_days == 30);
  BOOST_TEST(std::holds_alternative<config_error>(parse_config("[archive]\nurl = \"mysql://db\"\n", "t")));
  BOOST_TEST(std::holds_alternative<config_error>(parse_config("[archive]\nhold = 10\n", "t")));
  BOOST_TEST(without_password("postgresql://chatnode:pw@db:5432/chatnode") ==
             "postgresql://chatnode:***@db:5432/chatnode");
  BOOST_TEST(without_password("redis://:secret@redis:6379/0") == "redis://:***@redis:6379/0");
  BOOST_TEST(without_password("postgresql://chatnode@db/chatnode") == "postgresql://chatnode@db/chatnode");
  BOOST_TEST(without_password("redis://redis:6379") == "redis://redis:6379");
}

#include "node/process/config.hpp"

#include "node/files/s3_endpoint.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace chatnode {

namespace {

// -- settings table -----------------------------------------------------------
// Each key knows how to read itself from TOML or text, check its range and
// print itself, so parsing, overrides and --check-config share one list.

using setter = std::function<std::string(node_config&, const toml::node&)>;
using text_setter = std::function<std::string(node_config&, std::string_view)>;
using printer = std::function<std::string(const node_config&)>;

struct setting {
  std::string_view section;
  std::string_view key;
  setter from_toml;
  text_setter from_text;
  printer show;
};

/// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out + '"';
}

setting integer(std::string_view section, std::string_view key, std::int64_t node_config::*field,
                std::int64_t min, std::int64_t max) {
  auto range = "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  auto check = [=](node_config& c, std::int64_t v) -> std::string {
    if (v < min || v > max)
      return range + ", got " + std::to_string(v);
    c.*field = v;
    return {};
  };
  return {section, key,
          [=](node_config& c, const toml::node& n) -> std::string {
            if (!n.is_integer())
              return range;
            return check(c, n.as_integer()->get());
          },
          [=](node_config& c, std::string_view text) -> std::string {
            std::int64_t v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc{} || end != text.data() + text.size())
              return range + ", got \"" + std::string{text} + "\"";
            return check(c, v);
          },
          [=](const node_config& c) { return std::to_string(c.*field); }};
}

setting number(std::string_view section, std::string_view key, double node_config::*field, double min,
               double max) {
  std::ostringstream os;
  os << "expected a number from " << min << " to " << max;
  auto range = os.str();
  auto check = [=](node_config& c, double v) -> std::string {
    if (!std::isfinite(v) || v < min || v > max)
      return range;
    c.*field = v;
    return {};
  };
  return {section, key,
          [=](node_config& c, const toml::node& n) -> std::string {
            if (n.is_integer())
              return check(c, static_cast<double>(n.as_integer()->get()));
            if (!n.is_floating_point())
              return range;
            return check(c, n.as_floating_point()->get());
          },
          [=](node_config& c, std::string_view text) -> std::string {
            try {
              std::size_t used = 0;
              double v = std::stod(std::string{text}, &used);
              if (used != text.size())
                return range;
              return check(c, v);
            } catch (const std::exception&) {
              return range + ", got \"" + std::string{text} + "\"";
            }
          },
          [=](const node_config& c) {
            // Shortest text that reads back as the same number.
            char buf[64];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, c.*field);
            std::string s{buf, end};
            return s.find_first_of(".e") == std::string::npos ? s + ".0" : s;
          }};
}

using string_check = std::function<std::string(std::string_view)>;

setting text(std::string_view section, std::string_view key, std::string node_config::*field,
             string_check valid = {}) {
  auto assign = [=](node_config& c, std::string_view v) -> std::string {
    if (valid)
      if (auto problem = valid(v); !problem.empty())
        return problem;
    c.*field = std::string{v};
    return {};
  };
  return {section, key,
          [=](node_config& c, const toml::node& n) -> std::string {
            if (!n.is_string())
              return "expected a string";
            return assign(c, n.as_string()->get());
          },
          assign, [=](const node_config& c) { return quote(c.*field); }};
}

setting boolean(std::string_view section, std::string_view key, bool node_config::*field) {
  return {section, key,
          [=](node_config& c, const toml::node& n) -> std::string {
            if (!n.is_boolean())
              return "expected true or false";
            c.*field = n.as_boolean()->get();
            return {};
          },
          [=](node_config& c, std::string_view v) -> std::string {
            if (v == "true" || v == "1")
              c.*field = true;
            else if (v == "false" || v == "0")
              c.*field = false;
            else
              return "expected true or false, got \"" + std::string{v} + "\"";
            return {};
          },
          [=](const node_config& c) { return std::string{c.*field ? "true" : "false"}; }};
}

setting string_list(std::string_view section, std::string_view key,
                    std::vector<std::string> node_config::*field) {
  return {section, key,
          [=](node_config& c, const toml::node& n) -> std::string {
            const auto* arr = n.as_array();
            if (arr == nullptr)
              return "expected an array of strings";
            std::vector<std::string> values;
            for (const auto& item : *arr) {
              if (!item.is_string())
                return "expected an array of strings";
              values.push_back(item.as_string()->get());
            }
            c.*field = std::move(values);
            return {};
          },
          // From the environment or a flag: comma-separated.
          [=](node_config& c, std::string_view v) -> std::string {
            std::vector<std::string> values;
            while (!v.empty()) {
              auto comma = v.find(',');
              auto item = v.substr(0, comma);
              while (!item.empty() && item.front() == ' ')
                item.remove_prefix(1);
              while (!item.empty() && item.back() == ' ')
                item.remove_suffix(1);
              if (!item.empty())
                values.emplace_back(item);
              if (comma == std::string_view::npos)
                break;
              v.remove_prefix(comma + 1);
            }
            c.*field = std::move(values);
            return {};
          },
          [=](const node_config& c) {
            std::string out = "[";
            for (std::size_t i = 0; i < (c.*field).size(); ++i)
              out += (i ? ", " : "") + quote((c.*field)[i]);
            return out + "]";
          }};
}

std::string check_listen(std::string_view v) {
  auto parsed = parse_listen(v);
  if (auto* problem = std::get_if<std::string>(&parsed))
    return *problem;
  return {};
}

std::string check_log_level(std::string_view v) {
  for (auto level : {"trace", "debug", "info", "warn", "error"})
    if (v == level)
      return {};
  return "expected trace, debug, info, warn or error, got \"" + std::string{v} + "\"";
}

std::string check_log_format(std::string_view v) {
  if (v == "text" || v == "json")
    return {};
  return "expected text or json, got \"" + std::string{v} + "\"";
}

std::string check_redis_url(std::string_view v) {
  if (v.empty() || v.starts_with("redis://"))
    return {};
  return "expected redis://[[user]:password@]host:port[/db] (or host:port,host:port... for a cluster) or "
         "\"\"";
}

std::string check_redis_mode(std::string_view v) {
  if (v == "single" || v == "cluster")
    return {};
  return "expected \"single\" (one Redis) or \"cluster\" (Redis Cluster), got \"" + std::string{v} + "\"";
}

std::string check_key_prefix(std::string_view v) {
  for (char c : v)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '{' || c == '}')
      return "expected no spaces, braces or control characters";
  return {};
}

std::string check_node_name(std::string_view v) {
  if (v.size() > 64)
    return "expected at most 64 characters";
  for (char c : v)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '\\')
      return "expected no spaces, quotes or control characters";
  return {};
}

std::string check_secret(std::string_view v) {
  if (!v.empty() && v.size() < 16)
    return "expected \"\" (no tokens) or a secret of at least 16 characters";
  return {};
}

std::string check_jwks_url(std::string_view v) {
  if (v.empty())
    return {};
  if (!v.starts_with("https://") || v.size() <= 8 || v.size() > 2048 ||
      std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
    return "expected \"\" (no identity provider) or the https URL of its JWKS";
  return {};
}

std::string check_webhooks_url(std::string_view v) {
  if (v.empty())
    return {};
  if (!(v.starts_with("https://") || v.starts_with("http://")) || v.size() > 2048 ||
      std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
    return "expected \"\" (no webhooks) or the http(s) URL of the receiver";
  return {};
}

std::string check_webhooks_secret(std::string_view v) {
  if (!v.empty() && v.size() < 16)
    return "expected \"\" or a secret of at least 16 characters";
  return {};
}

std::string check_claim_value(std::string_view v) {
  if (v.size() > 1024)
    return "expected at most 1024 characters";
  return {};
}

std::string check_api_key(std::string_view v) {
  if (!v.empty() && v.size() < 16)
    return "expected \"\" (the API off) or a key of at least 16 characters";
  for (char c : v)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F)
      return "expected printable ASCII without spaces";
  return {};
}

std::string check_archive_url(std::string_view v) {
  if (!v.empty() && !v.starts_with("postgresql://") && !v.starts_with("postgres://"))
    return "expected \"\" (no archive) or a postgresql:// URL";
  return {};
}

/// An S3 bucket's name, as S3 allows it: 3 to 63 lowercase letters, digits,
/// dots and hyphens, beginning and ending with a letter or digit.
bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63)
    return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back()))
    return false;
  return std::all_of(b.begin(), b.end(), [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

std::string check_files_store(std::string_view v) {
  if (v.starts_with("s3://"))
    return valid_bucket(v.substr(5)) ? std::string{}
                                     : "expected s3://BUCKET with S3's rules for a bucket's name";
  if (!v.starts_with("dir:") || v.size() == 4)
    return "expected dir:PATH (a directory every node shares) or s3://BUCKET";
  return {};
}

std::string check_push_key_file(std::string_view v) {
  return v.empty() ? "expected a file's path (relative: to the working directory)" : std::string{};
}

std::string check_vapid_private_key(std::string_view v) {
  if (v.empty() || v.starts_with("-----BEGIN "))
    return {};
  return "expected \"\" or a P-256 private key in PEM (-----BEGIN PRIVATE KEY----- ...)";
}

std::string check_vapid_subject(std::string_view v) {
  if ((v.starts_with("mailto:") && v.size() > 7) || (v.starts_with("https://") && v.size() > 8))
    return {};
  return "expected a contact for push services: mailto:ADDRESS or https://URL";
}

std::string check_s3_endpoint(std::string_view v) {
  if (v.empty() || parse_s3_endpoint(v))
    return {};
  return "expected \"\" (AWS S3 in s3_region) or http(s)://host[:port]";
}

std::string check_s3_region(std::string_view v) {
  if (!v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      }))
    return {};
  return "expected a region's name, such as us-east-1";
}

const std::vector<setting>& all_settings() {
  static const std::vector<setting> table{
    text("node", "name", &node_config::name, check_node_name),
    text("node", "listen", &node_config::listen, check_listen),
    text("node", "web_root", &node_config::web_root),
    integer("node", "io_threads", &node_config::io_threads, 0, 256),
    integer("node", "actor_threads", &node_config::actor_threads, 0, 256),
    number("node", "write_coalesce_ms", &node_config::write_coalesce_ms, 0, 100),
    text("log", "level", &node_config::log_level, check_log_level),
    text("log", "format", &node_config::log_format, check_log_format),
    integer("limits", "max_frame_bytes", &node_config::max_frame_bytes, 1024, 16 << 20),
    integer("limits", "max_text_chars", &node_config::max_text_chars, 1, 1 << 20),
    number("limits", "rate_per_second", &node_config::rate_per_second, 0.01, 1e9),
    integer("limits", "rate_burst", &node_config::rate_burst, 1, 1000000000),
    integer("limits", "outbound_queue", &node_config::outbound_queue, 1, 1 << 24),
    integer("limits", "max_connections", &node_config::max_connections, 1, 10000000),
    integer("limits", "max_rooms_per_session", &node_config::max_rooms_per_session, 1, 100000),
    integer("limits", "max_connections_per_address", &node_config::max_connections_per_address, 0, 10000000),
    number("limits", "idle_timeout_seconds", &node_config::idle_timeout_seconds, 1, 86400),
    integer("limits", "max_json_depth", &node_config::max_json_depth, 1, 1000),
    integer("history", "retention", &node_config::retention, 1, 100000000),
    integer("history", "page_size", &node_config::page_size, 1, 100),
    string_list("http", "allowed_origins", &node_config::allowed_origins),
    boolean("http", "allow_missing_origin", &node_config::allow_missing_origin),
    number("http", "header_timeout_seconds", &node_config::header_timeout_seconds, 0.1, 3600),
    integer("http", "max_header_bytes", &node_config::max_header_bytes, 1024, 1 << 20),
    text("redis", "url", &node_config::redis_url, check_redis_url),
    text("redis", "mode", &node_config::redis_mode, check_redis_mode),
    text("redis", "key_prefix", &node_config::redis_key_prefix, check_key_prefix),
    number("redis", "timeout_seconds", &node_config::redis_timeout_seconds, 0.1, 600),
    number("redis", "presence_ttl_seconds", &node_config::redis_presence_ttl_seconds, 1, 3600),
    integer("redis", "cid_ttl_seconds", &node_config::redis_cid_ttl_seconds, 1, 365 * 86400),
    integer("redis", "wait_replicas", &node_config::redis_wait_replicas, 0, 16),
    text("auth", "secret", &node_config::auth_secret, check_secret),
    text("auth", "jwks_url", &node_config::auth_jwks_url, check_jwks_url),
    text("auth", "issuer", &node_config::auth_issuer, check_claim_value),
    text("auth", "audience", &node_config::auth_audience, check_claim_value),
    text("api", "key", &node_config::api_key, check_api_key),
    text("api", "keys_file", &node_config::api_keys_file),
    text("archive", "url", &node_config::archive_url, check_archive_url),
    integer("archive", "retention_days", &node_config::archive_retention_days, 0, 1000000),
    integer("archive", "hold", &node_config::archive_hold, 1000, 10000000),
    text("webhooks", "url", &node_config::webhooks_url, check_webhooks_url),
    text("webhooks", "secret", &node_config::webhooks_secret, check_webhooks_secret),
    boolean("webhooks", "private", &node_config::webhooks_private),
    number("webhooks", "retry_for_seconds", &node_config::webhooks_retry_for_seconds, 1, 7 * 86400),
    integer("webhooks", "hold", &node_config::webhooks_hold, 1000, 10000000),
    integer("presence", "big_room", &node_config::presence_big_room, 1, 1000000),
    number("presence", "batch_ms", &node_config::presence_batch_ms, 10, 60000),
    integer("presence", "batch_members", &node_config::presence_batch_members, 0, 100000000),
    boolean("files", "enabled", &node_config::files_enabled),
    text("files", "store", &node_config::files_store, check_files_store),
    text("files", "s3_endpoint", &node_config::files_s3_endpoint, check_s3_endpoint),
    text("files", "s3_region", &node_config::files_s3_region, check_s3_region),
    boolean("files", "s3_path_style", &node_config::files_s3_path_style),
    integer("files", "max_bytes", &node_config::files_max_bytes, 1, 1LL << 40),
    string_list("files", "refused_types", &node_config::files_refused_types),
    integer("files", "max_uploads_per_connection", &node_config::files_max_uploads_per_connection, 1, 10000),
    integer("files", "daily_bytes_per_user", &node_config::files_daily_bytes_per_user, 1, 1LL << 50),
    boolean("previews", "enabled", &node_config::previews_enabled),
    string_list("previews", "allow_private", &node_config::previews_allow_private),
    boolean("previews", "in_unlisted_rooms", &node_config::previews_in_unlisted_rooms),
    boolean("push", "enabled", &node_config::push_enabled),
    text("push", "key_file", &node_config::push_key_file, check_push_key_file),
    text("push", "vapid_private_key", &node_config::push_vapid_private_key, check_vapid_private_key),
    boolean("push", "allow_http_endpoints", &node_config::push_allow_http_endpoints),
    text("push", "vapid_subject", &node_config::push_vapid_subject, check_vapid_subject),
    string_list("push", "allowed_hosts", &node_config::push_allowed_hosts),
    string_list("push", "allow_private", &node_config::push_allow_private),
    number("push", "fold_seconds", &node_config::push_fold_seconds, 1, 3600),
    number("push", "claim_seconds", &node_config::push_claim_seconds, 15, 3600),
    number("shutdown", "drain_seconds", &node_config::drain_seconds, 0, 3600),
    number("shutdown", "grace_seconds", &node_config::grace_seconds, 0, 3600),
  };
  return table;
}

const setting* find_setting(std::string_view section, std::string_view key) {
  for (const auto& s : all_settings())
    if (s.section == section && s.key == key)
      return &s;
  return nullptr;
}

bool known_section(std::string_view section) {
  for (const auto& s : all_settings())
    if (s.section == section)
      return true;
  return false;
}

std::string where(std::string_view source, const toml::source_region& region) {
  std::string out{source};
  if (region.begin.line > 0)
    out += ":" + std::to_string(region.begin.line);
  return out;
}

std::string dotted(std::string_view section, std::string_view key) {
  return std::string{section} + "." + std::string{key};
}

} // namespace

// -- public ---------------------------------------------------------------------

result<listen_address> parse_listen(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::string{"expected host:port, e.g. 0.0.0.0:8080"};
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return std::string{"expected a port from 0 to 65535 after the colon"};
  return listen_address{std::string{host}, static_cast<std::uint16_t>(port)};
}

config_result parse_config(std::string_view text, std::string_view source) {
  // TOML allows no NUL, and toml++ 3.3 asserts on some inputs holding one.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n');
    return config_error{std::string{source} + ":" + std::to_string(line) + ": a NUL byte is not allowed"};
  }
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return config_error{where(source, e.source()) + ": " + std::string{e.description()}};
  }
  node_config config;
  for (const auto& [section_key, section_node] : doc) {
    auto section = section_key.str();
    const auto* table = section_node.as_table();
    if (table == nullptr || !known_section(section))
      return config_error{where(source, section_node.source()) + ": " + std::string{section} +
                          ": unknown section"};
    for (const auto& [key, value] : *table) {
      const auto* s = find_setting(section, key.str());
      if (s == nullptr)
        return config_error{where(source, value.source()) + ": " + dotted(section, key.str()) +
                            ": unknown key"};
      if (auto problem = s->from_toml(config, value); !problem.empty())
        return config_error{where(source, value.source()) + ": " + dotted(section, key.str()) + ": " +
                            problem};
    }
  }
  return config;
}

std::string config_conflict(const node_config& config) {
  if (!config.webhooks_url.empty() && config.webhooks_secret.empty())
    return "webhooks.url needs webhooks.secret: every delivery is signed with it";
  return {};
}

config_result load_config(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return config_error{path + ": cannot open the config file"};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

config_result apply_environment(node_config config, const std::function<const char*(const char*)>& lookup) {
  for (const auto& s : all_settings()) {
    std::string name = "CHATNODE_";
    for (char c : dotted(s.section, s.key))
      name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (const char* value = lookup(name.c_str()))
      if (auto problem = s.from_text(config, value); !problem.empty())
        return config_error{name + ": " + dotted(s.section, s.key) + ": " + problem};
  }
  return config;
}

config_result apply_setting(node_config config, std::string_view dotted_key, std::string_view value,
                            std::string_view origin) {
  auto dot = dotted_key.find('.');
  const setting* s = dot == std::string_view::npos
                       ? nullptr
                       : find_setting(dotted_key.substr(0, dot), dotted_key.substr(dot + 1));
  if (s == nullptr)
    return config_error{std::string{origin} + ": " + std::string{dotted_key} + ": unknown key"};
  if (auto problem = s->from_text(config, value); !problem.empty())
    return config_error{std::string{origin} + ": " + std::string{dotted_key} + ": " + problem};
  return config;
}

std::string without_password(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme)
    return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string to_toml(const node_config& config) {
  std::string out;
  std::string_view section;
  for (const auto& s : all_settings()) {
    if (s.section != section) {
      section = s.section;
      out += (out.empty() ? "[" : "\n[") + std::string{section} + "]\n";
    }
    out += std::string{s.key} + " = " + s.show(config) + "\n";
  }
  return out;
}

} // namespace chatnode

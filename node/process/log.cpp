#include "node/process/log.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace chatnode::log {

namespace {

std::atomic<level> min_level{level::info};
std::atomic<bool> json_lines{false};

const char* name(level l) {
  switch (l) {
    case level::trace: return "TRACE";
    case level::debug: return "DEBUG";
    case level::info: return "INFO";
    case level::warn: return "WARN";
    case level::error: return "ERROR";
  }
  return "INFO";
}

const char* lower_name(level l) {
  switch (l) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

void append_value(std::string& line, std::string_view value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\n\t") == std::string_view::npos;
  if (plain) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"' || c == '\\')
      line += '\\';
    line += c == '\n' ? ' ' : c;
  }
  line += '"';
}

/// One JSON object; `message`, when there is one, is the line a person
/// would read in text format.
std::string json_line(level l, std::string_view timestamp, std::string_view event,
                      std::initializer_list<field> fields, std::string_view message) {
  nlohmann::ordered_json line{{"time", timestamp}, {"level", lower_name(l)}, {"event", event}};
  for (const auto& [key, value] : fields)
    line[std::string{key}] = value;
  if (!message.empty())
    line["message"] = message;
  // Text that is not UTF-8 is replaced, never a reason to lose the line.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

level parse_level(std::string_view text) {
  if (text == "trace")
    return level::trace;
  if (text == "debug")
    return level::debug;
  if (text == "warn")
    return level::warn;
  if (text == "error")
    return level::error;
  return level::info;
}

void set_level(level min) {
  min_level.store(min, std::memory_order_relaxed);
}

void set_json(bool json) {
  json_lines.store(json, std::memory_order_relaxed);
}

bool enabled(level l) {
  return l >= min_level.load(std::memory_order_relaxed);
}

namespace {

/// Now as `2026-11-28T07:10:00.123Z`.
std::string timestamp_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
  return stamp;
}

/// One write(2) per line keeps lines whole across threads.
void put_line(int fd, std::string line) {
  line += '\n';
  [[maybe_unused]] auto written = ::write(fd, line.data(), line.size());
}

} // namespace

void write(level l, std::string_view event, std::initializer_list<field> fields) {
  if (enabled(l))
    put_line(STDERR_FILENO, format_line(l, timestamp_now(), event, fields));
}

void announce(std::string_view message, std::string_view event, std::initializer_list<field> fields) {
  if (json_lines.load(std::memory_order_relaxed))
    put_line(STDOUT_FILENO, json_line(level::info, timestamp_now(), event, fields, message));
  else
    put_line(STDOUT_FILENO, std::string{message});
}

void fail(std::string_view message) {
  if (json_lines.load(std::memory_order_relaxed))
    put_line(STDERR_FILENO, json_line(level::error, timestamp_now(), "startup_failed", {}, message));
  else
    put_line(STDERR_FILENO, "chatnode: " + std::string{message});
}

std::string format_line(level l, std::string_view timestamp, std::string_view event,
                        std::initializer_list<field> fields) {
  if (json_lines.load(std::memory_order_relaxed))
    return json_line(l, timestamp, event, fields, {});
  std::string line;
  line.reserve(128);
  line += timestamp;
  line += ' ';
  line += name(l);
  line += ' ';
  line += event;
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_value(line, value);
  }
  return line;
}

} // namespace chatnode::log

#include "node/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace chatnode::log {

namespace {

std::atomic<level> min_level{level::info};

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

} // namespace

level parse_level(std::string_view text) {
  if (text == "trace") return level::trace;
  if (text == "debug") return level::debug;
  if (text == "warn") return level::warn;
  if (text == "error") return level::error;
  return level::info;
}

void set_level(level min) { min_level.store(min, std::memory_order_relaxed); }

bool enabled(level l) { return l >= min_level.load(std::memory_order_relaxed); }

void write(level l, std::string_view event, std::initializer_list<field> fields) {
  if (!enabled(l))
    return;
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
  std::string line;
  line.reserve(128);
  line += stamp;
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
  line += '\n';
  // One write(2) per line keeps lines whole across threads.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

} // namespace chatnode::log

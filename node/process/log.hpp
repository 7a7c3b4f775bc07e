#pragma once
// One line per event on stderr: time, level, event, then key=value fields;
// or, for log aggregators, one JSON object per line with the same content.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace chatnode::log {

enum class level { trace, debug, info, warn, error };

/// Parses "trace".."error"; unknown text gives info.
level parse_level(std::string_view text);
void set_level(level min);
/// JSON lines: {"time":"...","level":"info","event":"...", fields...}.
void set_json(bool json);
bool enabled(level l);

using field = std::pair<std::string_view, std::string>;

/// Writes `2026-11-28T07:10:00.123Z INFO event key=value ...` when enabled.
void write(level l, std::string_view event, std::initializer_list<field> fields = {});

/// The line on stdout that says the node is up (`chatnode listening on
/// URL`): as it is in text format, one JSON object with `event`, the fields
/// and `message` in JSON format, so that a log reader of both streams sees
/// JSON only.
void announce(std::string_view message, std::string_view event, std::initializer_list<field> fields = {});

/// Why the node cannot start, on stderr: `chatnode: <message>`, or a JSON
/// object (event `startup_failed`) once the config chose JSON.
void fail(std::string_view message);

/// The line `write` would write, without its newline (for tests).
std::string format_line(level l, std::string_view timestamp, std::string_view event,
                        std::initializer_list<field> fields);

inline void debug(std::string_view event, std::initializer_list<field> fields = {}) {
  write(level::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<field> fields = {}) {
  write(level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<field> fields = {}) {
  write(level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<field> fields = {}) {
  write(level::error, event, fields);
}

} // namespace chatnode::log

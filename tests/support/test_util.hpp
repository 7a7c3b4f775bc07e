// Small header-only helpers shared by the integration tests: message ids, Prometheus
// text parsing, unique names.
#pragma once

#include <atomic>
#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace chatnode::testing {

// A message id "<ms>-<seq>" as a pair of integers; nullopt if malformed.
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_id(std::string_view id) {
  auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size())
    return std::nullopt;
  std::uint64_t ms = 0, seq = 0;
  auto r1 = std::from_chars(id.data(), id.data() + dash, ms);
  if (r1.ec != std::errc() || r1.ptr != id.data() + dash)
    return std::nullopt;
  auto r2 = std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  if (r2.ec != std::errc() || r2.ptr != id.data() + id.size())
    return std::nullopt;
  return std::make_pair(ms, seq);
}

// True when id a orders strictly before id b (both must be well formed).
inline bool id_less(std::string_view a, std::string_view b) {
  auto x = parse_id(a), y = parse_id(b);
  return x && y && *x < *y;
}

// Value of one sample in Prometheus text format. `series` is the metric name, optionally
// with its label set exactly as the node prints it, e.g.
// `chatnode_errors_total{code="bad_json"}`. Label order inside {} must match.
inline std::optional<double> metric_value(const std::string& text, std::string_view series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    // The series ends at the first space after the (optional) label set.
    std::size_t end = line.find('{');
    std::size_t sp = line.find(' ');
    if (end != std::string::npos && end < sp) {
      auto close = line.find('}', end);
      if (close == std::string::npos)
        continue;
      sp = line.find(' ', close);
    }
    if (sp == std::string::npos)
      continue;
    if (std::string_view(line).substr(0, sp) != series)
      continue;
    std::string rest = line.substr(sp + 1);
    auto sp2 = rest.find(' ');
    if (sp2 != std::string::npos)
      rest.resize(sp2);
    try {
      return std::stod(rest);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// The TYPE of a metric family ("counter", "gauge", "histogram"...), "" when not declared.
inline std::string metric_type(const std::string& text, std::string_view name) {
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "# TYPE " + std::string(name) + " ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return line.substr(prefix.size());
  return {};
}

inline bool metric_has_help(const std::string& text, std::string_view name) {
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "# HELP " + std::string(name) + " ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return true;
  return false;
}

// A room or user name unique within this test process.
inline std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(++counter);
}

inline std::string str(const nlohmann::json& e, const char* key) {
  if (!e.is_object())
    return {};
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace chatnode::testing

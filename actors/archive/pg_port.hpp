#pragma once
// What the archive actor needs from a PostgreSQL connection, without any
// network code: queries with text parameters and callbacks, results as plain
// values, and up/down events. The libpq implementation on Asio is
// node/pg_connection.

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chatnode {

/// A query's outcome: its rows (every value as text, NULL as nullopt), or
/// the server's or the link's error.
struct pg_result {
  std::string error; ///< empty: the query succeeded
  std::vector<std::vector<std::optional<std::string>>> rows;

  bool ok() const { return error.empty(); }
  static pg_result failure(std::string text) { return {std::move(text), {}}; }
};

using pg_params = std::vector<std::optional<std::string>>;
using pg_callback = std::function<void(pg_result)>;

/// One PostgreSQL connection. Thread-safe; callbacks run on the connection's
/// own strand and must not block.
class pg_port {
public:
  virtual ~pg_port() = default;
  /// Runs one statement ($1, $2... bound to `params`) after the ones sent
  /// before it. `done` gets the rows, or an error when the statement fails
  /// or the link is down or drops first.
  virtual void query(std::string sql, pg_params params, pg_callback done) = 0;
};

/// What a connection reports, on its strand.
struct pg_events {
  std::function<void()> up;                     ///< connected
  std::function<void(const std::string&)> down; ///< lost or failed; it reconnects by itself
};

} // namespace chatnode

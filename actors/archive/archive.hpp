#pragma once
// The archive: every room's entries written once to PostgreSQL, from the
// bus's own log (a Redis stream, or the embedded bus's memory), and read
// back for pages older than the bus retains and for search.
//
// How each entry is written exactly once, whichever nodes run:
// - The database keeps per room the newest entry archived (its mark). A
//   batch is the room's entries after the mark, read from the bus, written
//   by one function call that locks the room's row, skips what is at or
//   below the mark, applies the rest in id order and moves the mark, all in
//   one transaction. Overlapping batches (two nodes, a retry after a lost
//   answer, a node killed mid-batch) write nothing twice.
// - A node archives the rooms it stores entries in at once (every tick). A
//   room it only sees entries of (it has members there) it watches: if after
//   `takeover` the mark has not reached what it saw, the node that stored
//   them is gone or stuck, and this node archives the room itself.
// - While the database is down nothing is written and chat goes on; each
//   room's entries wait in the bus, which keeps the room's last `retention`
//   messages: a room that gets more than that before the archive is back
//   loses its oldest to it. The function counts such losses (a message
//   number more than one past the last archived) and the node logs them.

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/file_catalog.hpp"
#include "actors/archive/pg_port.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace chatnode {

struct archive_settings {
  std::size_t batch = 500;                  ///< entries per write
  std::chrono::milliseconds tick{100};      ///< how often due rooms are written
  std::chrono::milliseconds takeover{5000}; ///< a room another node stored in, still behind after this: ours
  std::chrono::milliseconds retry{1000};    ///< after a failed batch
  std::chrono::milliseconds bus_timeout{5000}; ///< reading entries from the bus
  std::int64_t retention_days = 0;             ///< archived messages older than this are deleted; 0: never
  std::size_t bus_retention = 1000;            ///< what the bus keeps per room, for the backlog warning
  std::size_t hold = 100000;                   ///< entries per room the bus holds for the archive at most
  /// (1.2) The file store, for the files of messages the archive's
  /// retention or an erasure removes; none: the node keeps no files.
  std::shared_ptr<const file_catalog> files;
  /// Where the archive's warnings go (the node's log): an event name and what happened.
  std::function<void(const std::string& event, const std::string& detail)> warn;
};

/// Spawns the archive over two connections: `writer` writes batches and
/// runs the schema, `reader` answers pages and searches. Their events must
/// be forwarded with `forward_pg_events`.
archive_actor spawn_archive(caf::actor_system& sys, archive_bus bus, std::shared_ptr<pg_port> writer,
                            std::shared_ptr<pg_port> reader, archive_settings settings, stats_ptr stats);

/// Which of the archive's two connections an event is about.
enum class pg_link : std::uint8_t { writer, reader };

/// Event handlers that pass a connection's events on to the archive.
pg_events forward_pg_events(std::shared_ptr<archive_actor> archive, pg_link link);

/// A batch as the archive function takes it: [[ms, seq, number, event], ...].
std::string batch_json(const entry_batch& batch);

/// Rows of chatnode_page or chatnode_search (newest first) as messages as
/// they now are, newest first.
std::vector<stored_message> messages_of_rows(const std::string& room, const pg_result& rows);

} // namespace chatnode

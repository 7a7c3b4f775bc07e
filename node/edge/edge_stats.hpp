#pragma once
// What the network edge counts (connections, bytes, frames, the limits it
// enforces, fan-out latency), for /metrics. A member of the edge context;
// the chat counts in actors/chat_stats.hpp.

#include "actors/contracts/chat_stats.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace chatnode {

/// (1.2) Uploads and downloads of files.
struct file_stats {
  std::atomic<std::uint64_t> stored{0};       ///< uploads stored
  std::atomic<std::uint64_t> bytes{0};        ///< their bytes
  std::atomic<std::uint64_t> refused{0};      ///< PUTs refused (link, length, store)
  std::atomic<std::uint64_t> abandoned{0};    ///< uploads whose client went away
  std::atomic<std::uint64_t> thumbnails{0};   ///< images given a thumbnail
  std::atomic<std::uint64_t> downloads{0};    ///< requests for files and thumbnails
  std::atomic<std::uint64_t> store_errors{0}; ///< store requests that failed (writes, reads)
  std::atomic<std::int64_t> receiving{0};     ///< uploads being received now
  std::atomic<bool> store_up{true};           ///< the store took its last probe
};

struct edge_stats {
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> frames_out{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::array<std::atomic<std::uint64_t>, limit_count> limit_hits{}; ///< the limits the edge enforces
  latency_histogram fanout_latency; ///< from the bus handing a message on to its write
  file_stats files;

  void count_limit(limit which) {
    limit_hits[static_cast<std::size_t>(which)].fetch_add(1, std::memory_order_relaxed);
  }
};

} // namespace chatnode

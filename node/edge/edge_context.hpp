#pragma once
// What the network edge (listener, HTTP and WebSocket sessions) needs from
// the rest of the node: its settings, its readiness, and how to hand a new
// connection to the actors. Owned by the server, shared by reference.

#include "actors/contracts/client_sink.hpp"
#include "actors/contracts/interfaces.hpp"
#include "node/edge/connection_limits.hpp"
#include "node/edge/edge_stats.hpp"
#include "node/process/metrics.hpp"
#include "node/edge/session_registry.hpp"
#include "node/edge/upload_receiver.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatnode {

struct edge_context {
  std::string node_name;
  std::filesystem::path web_root; ///< absolute and canonical
  std::vector<std::string> allowed_origins;
  bool allow_missing_origin = true;
  std::size_t max_frame_bytes = 65536;
  std::size_t outbound_queue = 1024;
  std::size_t max_connections = 10000;
  std::chrono::milliseconds header_timeout{10000}; ///< a request's headers must arrive by then
  std::uint32_t max_header_bytes = 8192;
  std::chrono::milliseconds idle_timeout{60000}; ///< a WebSocket silent this long (no pong either) is closed
  address_limits per_address;
  bool redis_configured = false;
  bool archive_configured = false;
  bool files_configured = false; ///< the node takes uploads

  /// Empty while ready; else why not (the /readyz body).
  std::function<std::string()> not_ready_reason;
  /// The masters of a Redis Cluster and whether each answers; unset otherwise.
  std::function<std::vector<shard_state>()> redis_shards;
  /// Creates the session actor for a new connection (it sends `welcome`).
  std::function<session_actor(sink_ptr, std::string session_id)> spawn_session;
  /// The server API's key; empty: /api/ is not served.
  /// The server API's keys; none (or empty): the API is off.
  std::shared_ptr<const api_keyring> api_keys;
  /// Asks the API actor; `done` runs on an actor thread with the answer.
  std::function<void(api_request, std::function<void(api_response)> done)> call_api;

  /// Uploads and downloads of files; none: /files/ is not served.
  const upload_settings* uploads = nullptr;
  edge_stats stats;
  stats_ptr chat; ///< what the chat counts, and whether its bus reaches Redis

  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_session_id{1};
  session_registry sessions;
};

} // namespace chatnode

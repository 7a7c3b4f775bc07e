#pragma once
// What the chat counts (sessions, hub, bus) and whether its bus can reach
// Redis, for /metrics and /readyz. One object per node, made by the
// composition root and handed to each actor that counts; the edge counts in
// node/edge_stats.hpp. Relaxed atomics: each figure is independent and read
// rarely.

#include "actors/contracts/chat_types.hpp"
#include "actors/contracts/error_code.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace chatnode {

/// A fixed-bucket latency histogram in seconds, Prometheus style.
class latency_histogram {
public:
  static constexpr std::array<double, 12> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  void observe(double seconds) {
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i])
      ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  }

  /// Count of observations in bucket i (not cumulative); i == bounds.size() is +Inf.
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum_seconds() const {
    return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  }

private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

/// The bounds a client can run into, each counted when it is hit.
enum class limit {
  connections,             ///< [limits] max_connections: upgrade refused 503
  connections_per_address, ///< [limits] max_connections_per_address: TCP connection closed at accept
  header_timeout,          ///< [http] header_timeout_seconds: slow request cut off
  header_size,             ///< [http] max_header_bytes: 431
  frame_size,              ///< [limits] max_frame_bytes: closed with 1009
  invalid_utf8,            ///< closed with 1007
  idle_timeout,            ///< [limits] idle_timeout_seconds: no frame or pong in time
  json_depth,              ///< [limits] max_json_depth: error bad_json
  rate,                    ///< [limits] rate_per_second / rate_burst: error rate_limited
  outbound_queue,          ///< [limits] outbound_queue: closed with 1013
  rooms_per_session,       ///< [limits] max_rooms_per_session: error bad_request
  origin,                  ///< [http] allowed_origins: upgrade refused 403
  auth,                    ///< [auth] secret: join refused unauthorized
  api_key,                 ///< [api] key: a server API request without it, 401
};
inline constexpr std::size_t limit_count = 14;
static_assert(static_cast<std::size_t>(limit::api_key) + 1 == limit_count, "limit_count and the enum differ");

inline std::string_view to_string(limit which) {
  static constexpr std::string_view names[limit_count] = {"connections",
                                                          "connections_per_address",
                                                          "header_timeout",
                                                          "header_size",
                                                          "frame_size",
                                                          "invalid_utf8",
                                                          "idle_timeout",
                                                          "json_depth",
                                                          "rate",
                                                          "outbound_queue",
                                                          "rooms_per_session",
                                                          "origin",
                                                          "auth",
                                                          "api_key"};
  return names[static_cast<std::size_t>(which)];
}

/// (1.2) What came of a link to preview: fetched with a preview found, fetched
/// with none usable (refused, failed, not HTML, no title), found in the
/// cache (another message's fetch within the hour), or not fetched (an
/// unlisted room, a limit).
enum class preview_outcome { fetched, unusable, cached, skipped };

inline std::string_view to_string(preview_outcome outcome) {
  static constexpr std::string_view names[] = {"fetched", "unusable", "cached", "skipped"};
  return names[static_cast<std::size_t>(outcome)];
}

struct chat_stats {
  std::atomic<std::int64_t> rooms{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_stored{0};
  std::array<std::atomic<std::uint64_t>, error_code_count> errors{};
  std::array<std::atomic<std::uint64_t>, limit_count> limit_hits{}; ///< the limits sessions enforce
  std::atomic<std::uint64_t> presence_resyncs{0};                   ///< a room's view corrected from the bus
  std::atomic<std::uint64_t> presence_batches{0};          ///< a big room's presence changes sent together
  std::array<std::atomic<std::uint64_t>, 5> moderations{}; ///< by moderation_action
  /// (1.2) Links previewed, by what came of them (preview_outcome).
  std::array<std::atomic<std::uint64_t>, 4> previews{};
  /// (1.2) Web Push: pending pushes opened and messages folded into one,
  /// pushes a push service took, pushes no longer wanted when due (read or
  /// the room joined meanwhile), subscriptions dropped (404, 410), pushes
  /// given up after an hour of retries.
  std::atomic<std::uint64_t> push_opened{0};
  std::atomic<std::uint64_t> push_folded{0};
  std::atomic<std::uint64_t> push_sent{0};
  std::atomic<std::uint64_t> push_unwanted{0};
  std::atomic<std::uint64_t> push_dropped_subscriptions{0};
  std::atomic<std::uint64_t> push_gave_up{0};
  /// (1.2) The identity provider's JWKS: fetches that brought keys and
  /// those that failed (the last good keys kept), and the keys held.
  std::array<std::atomic<std::uint64_t>, 2> issuer_fetches{};
  std::atomic<std::int64_t> issuer_keys{0};
  /// (1.2) Webhooks: entries the receiver took (2xx), attempts that failed
  /// (retried), entries dropped after retrying for `retry_for`, rooms taken
  /// over from a node whose lease ran out, rooms with entries not sent yet
  /// and how long the oldest of them has waited.
  /// (1.2) Slash commands called, by what came of them: answered, failed
  /// (the service did not answer well), unknown (no such command here).
  std::array<std::atomic<std::uint64_t>, 3> commands{};
  std::atomic<std::uint64_t> webhook_delivered{0};
  std::atomic<std::uint64_t> webhook_failed{0};
  std::atomic<std::uint64_t> webhook_dropped{0};
  std::atomic<std::uint64_t> webhook_takeovers{0};
  std::atomic<std::int64_t> webhook_rooms_pending{0};
  std::atomic<std::int64_t> webhook_backlog_seconds{0};
  latency_histogram webhook_post_seconds;

  // The Redis bridge, when one is configured.
  std::atomic<bool> redis_up{false}; ///< both links connected
  std::atomic<std::uint64_t> redis_reconnects{0};
  std::atomic<std::uint64_t> redis_replayed{0};
  std::atomic<std::uint64_t> redis_commands{0};
  latency_histogram redis_rtt;

  // The archive, when one is configured.
  std::atomic<bool> archive_up{false};                  ///< both links connected, schema ready
  std::atomic<std::uint64_t> archive_entries{0};        ///< entries this node wrote
  std::atomic<std::uint64_t> archive_batches{0};        ///< batches written
  std::atomic<std::uint64_t> archive_failures{0};       ///< batches that failed (retried)
  std::atomic<std::uint64_t> archive_missed{0};         ///< messages trimmed before they were archived
  std::atomic<std::int64_t> archive_rooms_pending{0};   ///< rooms with entries not archived yet
  std::atomic<std::int64_t> archive_backlog_seconds{0}; ///< how long the oldest of them has waited
  latency_histogram archive_write_seconds;

  void set_redis_reason(std::string reason) {
    std::lock_guard guard{reason_mutex_};
    redis_reason_ = std::move(reason);
  }
  std::string redis_reason() const {
    std::lock_guard guard{reason_mutex_};
    return redis_reason_;
  }

  void count_limit(limit which) {
    limit_hits[static_cast<std::size_t>(which)].fetch_add(1, std::memory_order_relaxed);
  }

  void count_moderation(moderation_action action) {
    moderations[static_cast<std::size_t>(action)].fetch_add(1, std::memory_order_relaxed);
  }

  void count_preview(preview_outcome outcome) {
    previews[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }

  /// (1.2) A push that failed, by the push service's status (0: none came).
  void count_push_failure(int status) {
    std::lock_guard guard{reason_mutex_};
    ++push_failures_[status];
  }
  std::map<int, std::uint64_t> push_failures() const {
    std::lock_guard guard{reason_mutex_};
    return push_failures_;
  }

  void count_error(error_code code) {
    errors[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  }

private:
  mutable std::mutex reason_mutex_;
  std::string redis_reason_ = "redis is not connected yet";
  std::map<int, std::uint64_t> push_failures_;
};

using stats_ptr = std::shared_ptr<chat_stats>;

} // namespace chatnode

#include "node/process/metrics.hpp"

#include "actors/wire/protocol.hpp"
#include "node/edge/edge_stats.hpp"

#include <fstream>
#include <sstream>
#include <unistd.h>

namespace chatnode {

namespace {

void family(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

template <class T>
void metric(std::ostringstream& out, const char* name, const char* type, const char* help, const T& value) {
  family(out, name, type, help);
  out << name << ' ' << value << '\n';
}

/// Resident set size from /proc, in bytes; 0 where unavailable.
long resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident))
    return 0;
  return pages_resident * ::sysconf(_SC_PAGESIZE);
}

void histogram(std::ostringstream& out, const char* name, const char* help, const latency_histogram& h) {
  family(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_histogram::bounds.size(); ++i) {
    cumulative += h.bucket(i);
    out << name << "_bucket{le=\"" << latency_histogram::bounds[i] << "\"} " << cumulative << '\n';
  }
  cumulative += h.bucket(latency_histogram::bounds.size());
  out << name << "_bucket{le=\"+Inf\"} " << cumulative << '\n'
      << name << "_sum " << h.sum_seconds() << '\n'
      << name << "_count " << cumulative << '\n';
}

} // namespace

std::string render_metrics(const chat_stats& chat, const edge_stats& edge, const node_status& status) {
  const auto& s = chat;
  const auto& e = edge;
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  std::ostringstream out;
  metric(out, "chatnode_up", "gauge", "1 while the process serves.", 1);
  metric(out, "chatnode_ready", "gauge", "1 while the node accepts clients.", status.ready ? 1 : 0);
  metric(out, "chatnode_connections", "gauge", "Open WebSocket connections.", load(e.connections));
  metric(out, "chatnode_connections_total", "counter", "WebSocket connections accepted.",
         load(e.connections_total));
  metric(out, "chatnode_connections_refused_total", "counter",
         "WebSocket upgrades refused (origin, connection limit).", load(e.connections_refused));
  metric(out, "chatnode_rooms", "gauge", "Rooms with members on this node.", load(s.rooms));
  metric(out, "chatnode_messages_in_total", "counter", "Frames received from clients.", load(s.messages_in));
  metric(out, "chatnode_messages_stored_total", "counter", "Chat messages stored by this node's bus.",
         load(s.messages_stored));
  metric(out, "chatnode_messages_out_total", "counter",
         "Events written to clients (an array frame counts each event).", load(e.messages_out));
  metric(out, "chatnode_frames_out_total", "counter",
         "WebSocket frames written to clients (events per frame = messages_out / frames_out).",
         load(e.frames_out));
  metric(out, "chatnode_bytes_in_total", "counter", "Payload bytes received from clients.", load(e.bytes_in));
  metric(out, "chatnode_bytes_out_total", "counter", "Payload bytes written to clients.", load(e.bytes_out));
  metric(out, "chatnode_slow_consumer_closes_total", "counter",
         "Clients closed with 1013 because their outbound queue overflowed.", load(e.slow_consumer_closes));

  family(out, "chatnode_errors_total", "counter", "Error events sent to clients, by code.");
  for (std::size_t i = 0; i < error_code_count; ++i)
    out << "chatnode_errors_total{code=\"" << to_string(static_cast<error_code>(i)) << "\"} "
        << load(s.errors[i]) << '\n';

  family(out, "chatnode_limit_hits_total", "counter",
         "Times a client ran into a configured limit, by limit.");
  for (std::size_t i = 0; i < limit_count; ++i)
    out << "chatnode_limit_hits_total{limit=\"" << to_string(static_cast<limit>(i)) << "\"} "
        << load(s.limit_hits[i]) + load(e.limit_hits[i]) << '\n';

  histogram(out, "chatnode_fanout_latency_seconds",
            "Time from a message's arrival from the bus (Redis or embedded) to its write to a client socket; "
            "one sample per write, its oldest message.",
            e.fanout_latency);

  metric(
    out, "chatnode_presence_resyncs_total", "counter",
    "Times a room's member list on this node was corrected from the bus after presence events were missed.",
    load(s.presence_resyncs));
  metric(out, "chatnode_presence_batches_total", "counter",
         "Batches of a big room's presence changes sent to its members on this node.",
         load(s.presence_batches));

  family(out, "chatnode_moderations_total", "counter",
         "Moderation actions taken by moderators on this node, by action.");
  for (std::size_t i = 0; i < s.moderations.size(); ++i)
    out << "chatnode_moderations_total{action=\"" << to_string(static_cast<moderation_action>(i)) << "\"} "
        << load(s.moderations[i]) << '\n';

  family(out, "chatnode_link_previews_total", "counter",
         "Links of messages sent on this node to preview, by what came of them.");
  for (std::size_t i = 0; i < s.previews.size(); ++i)
    out << "chatnode_link_previews_total{outcome=\"" << to_string(static_cast<preview_outcome>(i)) << "\"} "
        << load(s.previews[i]) << '\n';

  family(out, "chatnode_issuer_key_fetches_total", "counter",
         "Fetches of the identity provider's JWKS, by result (failed: the last good keys were kept).");
  out << "chatnode_issuer_key_fetches_total{result=\"ok\"} " << load(s.issuer_fetches[0]) << '\n';
  out << "chatnode_issuer_key_fetches_total{result=\"failed\"} " << load(s.issuer_fetches[1]) << '\n';
  metric(out, "chatnode_issuer_keys", "gauge", "Signing keys of the identity provider this node holds.",
         load(s.issuer_keys));

  metric(out, "chatnode_push_owed_total", "counter",
         "Pending pushes opened for messages sent on this node (a user and room each).", load(s.push_opened));
  metric(out, "chatnode_push_folded_total", "counter",
         "Messages sent on this node folded into a push already pending.", load(s.push_folded));
  metric(out, "chatnode_pushes_sent_total", "counter",
         "Pushes this node sent that a push service took (2xx).", load(s.push_sent));
  metric(out, "chatnode_pushes_unwanted_total", "counter",
         "Pushes not sent when due: the user read the room or joined it meanwhile.", load(s.push_unwanted));
  metric(out, "chatnode_push_subscriptions_dropped_total", "counter",
         "Subscriptions dropped: their push service answered 404 or 410, or the node will not post there.",
         load(s.push_dropped_subscriptions));
  metric(out, "chatnode_pushes_given_up_total", "counter", "Pushes given up after an hour of retries.",
         load(s.push_gave_up));
  family(out, "chatnode_push_failures_total", "counter",
         "Pushes a push service did not take, by its status (0: no answer); 429 and 5xx are retried.");
  for (const auto& [status, count] : s.push_failures())
    out << "chatnode_push_failures_total{status=\"" << status << "\"} " << count << '\n';

  family(out, "chatnode_commands_total", "counter",
         "Slash commands typed on this node, by what came of them: answered, failed (its service did not "
         "answer well in 5 s), unknown (no such command, or not in that room).");
  out << "chatnode_commands_total{result=\"answered\"} " << load(s.commands[0]) << '\n';
  out << "chatnode_commands_total{result=\"failed\"} " << load(s.commands[1]) << '\n';
  out << "chatnode_commands_total{result=\"unknown\"} " << load(s.commands[2]) << '\n';
  family(out, "chatnode_webhook_deliveries_total", "counter",
         "Webhook posts this node made, by result: delivered (2xx), failed (tried again with backoff), "
         "dropped (an entry given up after retry_for_seconds).");
  out << "chatnode_webhook_deliveries_total{result=\"delivered\"} " << load(s.webhook_delivered) << '\n';
  out << "chatnode_webhook_deliveries_total{result=\"failed\"} " << load(s.webhook_failed) << '\n';
  out << "chatnode_webhook_deliveries_total{result=\"dropped\"} " << load(s.webhook_dropped) << '\n';
  metric(out, "chatnode_webhook_takeovers_total", "counter",
         "Rooms this node took over delivering when the node before stopped renewing its lease.",
         load(s.webhook_takeovers));
  metric(out, "chatnode_webhook_rooms_pending", "gauge", "Rooms with entries this node has not seen sent.",
         s.webhook_rooms_pending.load());
  metric(out, "chatnode_webhook_backlog_seconds", "gauge",
         "How long the oldest entry this node waits to see sent has waited.",
         s.webhook_backlog_seconds.load());
  histogram(out, "chatnode_webhook_post_seconds", "Time for one webhook post's answer (or its failure).",
            s.webhook_post_seconds);

  metric(out, "chatnode_uploads_total", "counter", "Files uploaded and stored.", load(e.files.stored));
  metric(out, "chatnode_upload_bytes_total", "counter", "Bytes of the files uploaded and stored.",
         load(e.files.bytes));
  metric(out, "chatnode_uploads_refused_total", "counter",
         "Uploads refused: unknown, used or expired link, body longer or shorter than announced, store full.",
         load(e.files.refused));
  metric(out, "chatnode_uploads_receiving", "gauge", "Uploads whose bytes are being received now.",
         e.files.receiving.load(std::memory_order_relaxed));
  metric(out, "chatnode_uploads_abandoned_total", "counter", "Uploads whose client went away before the end.",
         load(e.files.abandoned));
  metric(out, "chatnode_thumbnails_total", "counter", "Images given a thumbnail.", load(e.files.thumbnails));
  metric(out, "chatnode_file_requests_total", "counter", "Requests for stored files and thumbnails.",
         load(e.files.downloads));
  metric(out, "chatnode_file_store_errors_total", "counter",
         "Requests the file store failed or refused: writes of uploads, reads of downloads.",
         load(e.files.store_errors));
  metric(out, "chatnode_file_store_up", "gauge", "1 when the file store took its last probe (every 10 s).",
         e.files.store_up.load(std::memory_order_relaxed) ? 1 : 0);

  metric(out, "chatnode_redis_configured", "gauge", "1 when a Redis URL is configured.",
         status.redis_configured ? 1 : 0);
  if (status.redis_configured) {
    metric(out, "chatnode_redis_up", "gauge", "1 while both Redis links are connected.",
           s.redis_up.load() ? 1 : 0);
    metric(out, "chatnode_redis_reconnects_total", "counter", "Times the Redis command link was lost.",
           load(s.redis_reconnects));
    metric(out, "chatnode_redis_replayed_total", "counter",
           "Messages read back from Redis streams after a subscription gap.", load(s.redis_replayed));
    metric(out, "chatnode_redis_commands_total", "counter", "Commands sent to Redis.",
           load(s.redis_commands));
    histogram(out, "chatnode_redis_rtt_seconds", "Redis command round-trip time.", s.redis_rtt);
  }
  metric(out, "chatnode_archive_configured", "gauge", "1 when an archive URL is configured.",
         status.archive_configured ? 1 : 0);
  if (status.archive_configured) {
    metric(out, "chatnode_archive_up", "gauge",
           "1 while both archive links are connected and its schema ready.", s.archive_up.load() ? 1 : 0);
    metric(out, "chatnode_archive_entries_total", "counter", "Entries this node wrote to the archive.",
           load(s.archive_entries));
    metric(out, "chatnode_archive_batches_total", "counter", "Batches this node wrote to the archive.",
           load(s.archive_batches));
    metric(out, "chatnode_archive_failures_total", "counter",
           "Archive batches that failed and wait to be tried again.", load(s.archive_failures));
    metric(out, "chatnode_archive_missed_total", "counter",
           "Messages that left the bus's retention before they were archived.", load(s.archive_missed));
    metric(out, "chatnode_archive_rooms_pending", "gauge",
           "Rooms with entries this node has not seen archived.", s.archive_rooms_pending.load());
    metric(out, "chatnode_archive_backlog_seconds", "gauge",
           "How long the oldest entry this node waits to see archived has waited.",
           s.archive_backlog_seconds.load());
    histogram(out, "chatnode_archive_write_seconds", "Time to write one batch to the archive.",
              s.archive_write_seconds);
  }
  if (!status.shards.empty()) {
    out << "# HELP chatnode_redis_shard_up 1 while this node reaches the Redis Cluster master of a shard.\n"
        << "# TYPE chatnode_redis_shard_up gauge\n";
    for (const auto& shard : status.shards)
      out << "chatnode_redis_shard_up{master=\"" << shard.master << "\"} " << (shard.up ? 1 : 0) << "\n";
  }
  metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", resident_bytes());
  return out.str();
}

} // namespace chatnode

#pragma once
// The node's configuration: defaults, the TOML file, CHATNODE_* environment
// variables and command-line flags, in rising order of precedence. Parsing is
// pure (text in, config or one-line error out) so it is tested without files.

#include "actors/contracts/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chatnode {

struct node_config {
  // [node]
  std::string name;
  std::string listen = "0.0.0.0:8080";
  std::string web_root = "web";
  std::int64_t io_threads = 2;
  std::int64_t actor_threads = 2;
  double write_coalesce_ms = 10.0;
  // [log]
  std::string log_level = "info";
  std::string log_format = "text"; ///< "text" or "json"
  // [limits]
  std::int64_t max_frame_bytes = 65536;
  std::int64_t max_text_chars = 4000;
  double rate_per_second = 20.0;
  std::int64_t rate_burst = 40;
  std::int64_t outbound_queue = 1024;
  std::int64_t max_connections = 10000;
  std::int64_t max_rooms_per_session = 100;
  std::int64_t max_connections_per_address = 256;
  double idle_timeout_seconds = 60.0;
  std::int64_t max_json_depth = 16;
  // [history]
  std::int64_t retention = 1000;
  std::int64_t page_size = 50;
  // [http]
  std::vector<std::string> allowed_origins;
  bool allow_missing_origin = true;
  double header_timeout_seconds = 10.0;
  std::int64_t max_header_bytes = 8192;
  // [redis]
  std::string redis_url;
  std::string redis_mode = "single"; ///< "single" or "cluster"
  std::string redis_key_prefix = "chatnode:";
  double redis_timeout_seconds = 3.0;
  double redis_presence_ttl_seconds = 10.0;
  std::int64_t redis_cid_ttl_seconds = 300;
  std::int64_t redis_wait_replicas = 0;
  // [auth]
  std::string auth_secret;
  std::string auth_jwks_url; ///< (1.2) the identity provider's JWKS (https); empty: none
  std::string auth_issuer;   ///< (1.2) its tokens' `iss`; empty: not checked
  std::string auth_audience; ///< (1.2) its tokens' `aud`; empty: not checked
  std::string api_key;       ///< [api] key: the server API's bearer key with every scope; empty: none
  std::string
    api_keys_file; ///< (1.2) [api] keys_file: named keys with scopes (api_keys_file.hpp); empty: none
  // [archive]
  std::string archive_url;                 ///< postgresql://...; empty: no archive
  std::int64_t archive_retention_days = 0; ///< archived messages older than this are deleted; 0: kept forever
  std::int64_t archive_hold = 100000;      ///< entries per room the bus holds for the archive at most
  // [webhooks] (1.2)
  std::string webhooks_url;                  ///< http(s) URL every entry is posted to; empty: no webhooks
  std::string webhooks_secret;               ///< signs each delivery (X-Chatnode-Signature)
  bool webhooks_private = false;             ///< `_` rooms' and direct conversations' entries are sent too
  double webhooks_retry_for_seconds = 86400; ///< an entry not taken this long is dropped
  std::int64_t webhooks_hold = 100000;       ///< entries per room the bus holds for the webhooks at most
  // [presence]
  std::int64_t presence_big_room = 100; ///< rooms with more members get batched presence and paged lists
  double presence_batch_ms = 500.0;     ///< a big room's presence changes go out at most this often
  std::int64_t presence_batch_members =
    10000; ///< and one interval later for every this many members (0: fixed)
  // [files]
  bool files_enabled = true;
  std::string files_store =
    "dir:data/files";            ///< dir:PATH, a directory (relative: to the working directory); s3://BUCKET
  std::string files_s3_endpoint; ///< http(s)://host[:port]; empty: AWS S3 in files_s3_region
  std::string files_s3_region = "us-east-1";
  bool files_s3_path_style =
    false; ///< "/bucket/key" on the endpoint (MinIO, s3rver); false: "bucket.host/key"
  std::int64_t files_max_bytes = 25LL << 20;
  std::vector<std::string> files_refused_types; ///< "text/html", or "video/*"
  std::int64_t files_max_uploads_per_connection = 10;
  std::int64_t files_daily_bytes_per_user = 1LL << 30;
  // [previews]
  bool previews_enabled = true;
  std::vector<std::string> previews_allow_private; ///< networks (CIDR) the fetcher may reach although private
  bool previews_in_unlisted_rooms = false; ///< unlisted rooms and direct conversations get previews too
  // [push]
  bool push_enabled = true;
  std::string push_key_file = "data/push/vapid.pem"; ///< a node alone keeps its VAPID key here
  std::string push_vapid_private_key;     ///< the operator's own VAPID key (PEM); empty: the deployment's own
  bool push_allow_http_endpoints = false; ///< subscriptions to plain http push services (tests) are taken
  /// Who push services may contact about this deployment's pushes (RFC 8292's `sub`).
  std::string push_vapid_subject = "mailto:postmaster@localhost";
  std::vector<std::string> push_allowed_hosts; ///< push services' hosts pushed to; empty: any
  std::vector<std::string> push_allow_private; ///< networks (CIDR) push services may be in although private
  double push_fold_seconds = 30;               ///< a user's messages in a room gathered into one push
  double push_claim_seconds = 60;              ///< a node's hold on a push it sends, before another node may
  // [shutdown]
  double drain_seconds = 2.0;
  double grace_seconds = 10.0;
};

/// What settings that are each fine say wrong together, or empty.
std::string config_conflict(const node_config& config);

/// One line naming where (file and line, variable or flag), the key and the problem.
struct config_error {
  std::string message;
};

using config_result = result<node_config, config_error>;

/// Parses TOML text over the defaults; `source` names it in errors.
config_result parse_config(std::string_view text, std::string_view source);

/// Reads and parses a file.
config_result load_config(const std::string& path);

/// Applies CHATNODE_<SECTION>_<KEY> variables found by `lookup` (getenv).
config_result apply_environment(node_config config, const std::function<const char*(const char*)>& lookup);

/// Sets one "section.key" from text, as a flag does; `origin` names it in errors.
config_result apply_setting(node_config config, std::string_view dotted_key, std::string_view value,
                            std::string_view origin);

/// A URL as it may be shown (logs, --check-config): its password replaced by ***.
std::string without_password(const std::string& url);

/// The effective configuration as TOML, every key shown.
std::string to_toml(const node_config& config);

/// host and port of a listen address "host:port" or "[v6]:port".
struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};
result<listen_address> parse_listen(std::string_view text);

} // namespace chatnode

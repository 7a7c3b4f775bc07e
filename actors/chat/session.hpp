#pragma once
// The session actor: one per WebSocket connection. Decodes and checks the
// client's requests (rooms joined, rate, sizes) and passes them on to the hub
// and the bus. Replies that concern only this client go straight to its sink.

#include "actors/contracts/client_sink.hpp"
#include "actors/wire/protocol.hpp"

#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/bus_interface.hpp"
#include "actors/contracts/commands.hpp"
#include "actors/contracts/file_catalog.hpp"
#include "actors/contracts/push_identity.hpp"
#include "actors/contracts/upload_secret.hpp"
#include "actors/people/issuer_keys.hpp"

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatnode {

/// (1.2) What an `upload` may ask for.
struct upload_policy {
  std::shared_ptr<const upload_secret> secret; ///< seals upload tickets; none: the node takes no uploads
  std::uint64_t max_bytes = 25ULL << 20;
  std::vector<std::string> refused_types;      ///< "text/html", or a whole family: "video/*"
  std::size_t max_open = 10;                   ///< tickets one connection holds at once (until they expire)
  std::uint64_t daily_bytes = 1ULL << 30;      ///< what one user may announce for upload in a day
  std::shared_ptr<const file_catalog> catalog; ///< what was uploaded (set when the node takes uploads)
};

struct session_settings {
  std::string node; ///< this node's name, for `welcome`
  protocol_limits limits;
  double rate_per_second = 20;
  double rate_burst = 40;
  std::size_t max_rooms = 100;
  std::string auth_secret; ///< non-empty: every join needs a token signed with it
  /// (1.2) The identity provider's keys: tokens they verify are taken too,
  /// with `issuer` and `audience` checked when set; none: HS256 alone.
  std::shared_ptr<const chatnode::issuer_keys> issuer_keys;
  /// (1.2) Fetches those keys again when a token names one not held.
  issuer_actor issuer_keeper;
  std::string expected_issuer;
  std::string expected_audience;
  std::chrono::milliseconds bus_timeout{
    5000}; ///< a store or history query slower than this fails as `unavailable`
  /// Told of every moderation action a session makes (the node logs it).
  std::function<void(const moderation_request&)> on_moderation;
  /// The archive, if one is configured: history past the bus's retention, and search.
  archive_actor archive;
  upload_policy uploads;
  /// (1.2) Previews the first link of messages sent here; none: previews are off.
  previewer_actor previewer;
  /// (1.2) Told of every message stored here, which may owe pushes; none:
  /// push is off.
  pusher_actor pusher;
  /// (1.2) The deployment's VAPID key for Web Push; none: push is off.
  std::shared_ptr<const push_identity> push;
  /// (1.2) Subscriptions whose push service is plain http are taken (tests
  /// of a local push service); else only https.
  bool push_allow_http_endpoints = false;
  /// (1.2) The push services' hosts subscriptions may name; empty: any.
  std::vector<std::string> push_allowed_hosts;

  /// (1.2) The slash commands, and the runner that calls them; none: a
  /// text that starts with "/" is a message like any other.
  command_book_ptr commands;
  commands_actor command_runner;

  /// Whether joins need tokens (a secret, an identity provider, or both).
  bool tokens_required() const { return !auth_secret.empty() || issuer_keys != nullptr; }
};

/// Spawns a session for a new connection and sends it `welcome`. The
/// settings are shared by every session of the node.
session_actor spawn_session(caf::actor_system& sys, sink_ptr sink, std::string session_id, hub_actor hub,
                            session_bus bus, directory_actor directory,
                            std::shared_ptr<const session_settings> settings, stats_ptr stats);

} // namespace chatnode

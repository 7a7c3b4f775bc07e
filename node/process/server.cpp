#include "node/process/server.hpp"

#include "actors/embedded_bus/embedded_bus.hpp"
#include "actors/people/api.hpp"
#include "actors/archive/archive.hpp"
#include "actors/people/directory.hpp"
#include "actors/chat/hub.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_bridge.hpp"
#include "actors/redis_bus/redis_scripts.hpp"
#include "actors/chat/session.hpp"
#include "actors/previews/previewer.hpp"
#include "actors/push/pusher.hpp"
#include "node/process/preview_fetcher.hpp"
#include "node/process/push_delivery.hpp"
#include "node/process/jwks_source.hpp"
#include "node/process/webhook_delivery.hpp"
#include "node/process/api_keys_file.hpp"
#include "node/process/command_delivery.hpp"
#include "actors/commands/command_runner.hpp"
#include "actors/webhooks/webhook_sender.hpp"
#include "actors/people/issuer_keeper.hpp"
#include "node/process/push_key.hpp"
#include "node/edge/edge_stats.hpp"
#include "node/edge/edge_context.hpp"
#include "node/files/directory_file_store.hpp"
#include "node/files/s3_store.hpp"
#include "node/files/image_workers.hpp"
#include "node/files/thumbnailer.hpp"
#include "node/process/store_catalog.hpp"
#include "actors/contracts/signing.hpp"
#include "node/edge/io_pool.hpp"
#include "node/edge/listener.hpp"
#include "node/process/log.hpp"
#include "node/links/pg_connection.hpp"
#include "node/links/redis_cluster.hpp"
#include "node/links/redis_connection.hpp"
#include "node/edge/websocket_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <cstdio>
#include <thread>
#include <variant>
#include <unistd.h>

namespace chatnode {

namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;

namespace {

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds{static_cast<long>(seconds * 1000)};
}

std::size_t thread_count(std::int64_t configured) {
  if (configured > 0)
    return static_cast<std::size_t>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "chatnode";
  return buf;
}

/// Closes sessions a slice at a time so that the last closes at `until`.
/// A running bus, and for Redis (one server or a cluster) how to stop its
/// links and see its shards.
struct running_bus {
  bus_actor bus;
  std::function<void()> stop;
  std::function<std::vector<shard_state>()> shards; ///< unset for one Redis
};

/// Files on the bus: the store's catalog, and the ticket secret every node shares.
/// What the node shares with its bus: the file store's catalog and the
/// ticket secret, and (1.2) the push identity, which a Redis bus completes.
struct bus_shares {
  std::shared_ptr<const file_catalog> catalog; ///< none: the node takes no files
  std::shared_ptr<upload_secret> secret;
  std::shared_ptr<push_identity> push; ///< none: push is off
};

std::optional<running_bus> start_redis_bus(caf::actor_system& system, net::io_context& ioc,
                                           const node_config& config, const std::string& node_name,
                                           const stats_ptr& stats, const bus_shares& files) {
  redis_connection::timing timing;
  timing.connect_timeout = to_ms(config.redis_timeout_seconds);
  timing.ping_timeout = to_ms(config.redis_timeout_seconds);
  timing.ping_interval = std::min(timing.ping_interval, timing.ping_timeout / 2);
  redis_bridge_settings settings;
  settings.node = node_name;
  settings.key_prefix = config.redis_key_prefix;
  settings.retention = static_cast<std::size_t>(config.retention);
  settings.cid_ttl = std::chrono::seconds{config.redis_cid_ttl_seconds};
  settings.presence_ttl = to_ms(config.redis_presence_ttl_seconds);
  settings.query_timeout = to_ms(config.redis_timeout_seconds);
  settings.sharded = config.redis_mode == "cluster";
  settings.wait_replicas = static_cast<int>(config.redis_wait_replicas);
  // A WAIT holds the command link: it must end well before the link is
  // taken for silent.
  settings.wait_timeout = timing.ping_timeout / 3;
  if (files.catalog) {
    settings.files = files.catalog;
    settings.ticket_secret = files.secret;
  }
  settings.push_key = files.push;
  settings.push_fold = to_ms(config.push_fold_seconds);
  auto bridge_handle = std::make_shared<bus_actor>();

  if (settings.sharded) {
    auto parsed = parse_redis_seeds(config.redis_url);
    if (!ok(parsed)) {
      startup_error("redis.url: " + error_of(parsed));
      return std::nullopt;
    }
    const auto& seeds = std::get<std::vector<redis_endpoint>>(parsed);
    auto cluster =
      std::make_shared<redis_cluster>(ioc, seeds, forward_redis_events(bridge_handle, redis_link::commands),
                                      forward_redis_events(bridge_handle, redis_link::subscriber), timing);
    auto bus = spawn_redis_bridge(system, cluster->commands(), cluster->subscriber(), settings, stats);
    *bridge_handle = bus;
    cluster->preload(redis_scripts::all());
    cluster->start();
    std::string addresses;
    for (const auto& seed : seeds)
      addresses += (addresses.empty() ? "" : ",") + seed.host + ":" + std::to_string(seed.port);
    log::info("redis_configured", {{"mode", "cluster"}, {"seeds", addresses}});
    // The edge context outlives the I/O threads, and the cluster's timers
    // must not: it holds the cluster weakly.
    std::weak_ptr<redis_cluster> weak = cluster;
    return running_bus{bus, [cluster] { cluster->stop(); },
                       [weak] {
                         auto c = weak.lock();
                         return c ? c->shards() : std::vector<shard_state>{};
                       }};
  }

  auto parsed = parse_redis_url(config.redis_url);
  if (!ok(parsed)) {
    startup_error("redis.url: " + error_of(parsed));
    return std::nullopt;
  }
  const auto& endpoint = std::get<redis_endpoint>(parsed);
  auto commands = std::make_shared<redis_connection>(
    ioc, endpoint, "commands", false, forward_redis_events(bridge_handle, redis_link::commands), timing);
  auto subscriber = std::make_shared<redis_connection>(
    ioc, endpoint, "subscriber", true, forward_redis_events(bridge_handle, redis_link::subscriber), timing);
  auto bus = spawn_redis_bridge(system, commands, subscriber, settings, stats);
  *bridge_handle = bus;
  commands->preload(redis_scripts::all());
  commands->start();
  subscriber->start();
  log::info("redis_configured", {{"mode", "single"},
                                 {"address", endpoint.host + ":" + std::to_string(endpoint.port)},
                                 {"db", std::to_string(endpoint.db)}});
  return running_bus{bus,
                     [commands, subscriber] {
                       commands->stop();
                       subscriber->stop();
                     },
                     nullptr};
}

void close_gradually(std::vector<std::shared_ptr<websocket_session>> sessions, std::uint16_t code,
                     std::string reason, std::chrono::steady_clock::time_point until,
                     std::shared_ptr<net::steady_timer> timer) {
  using namespace std::chrono;
  constexpr auto step = milliseconds(50);
  auto left = until - steady_clock::now();
  auto steps = std::max<std::int64_t>(1, duration_cast<milliseconds>(left).count() / step.count());
  auto count = std::min(sessions.size(), (sessions.size() + static_cast<std::size_t>(steps) - 1) /
                                           static_cast<std::size_t>(steps));
  for (std::size_t i = 0; i < count; ++i) {
    sessions.back()->close(code, reason);
    sessions.pop_back();
  }
  if (sessions.empty())
    return;
  timer->expires_after(step);
  timer->async_wait([sessions = std::move(sessions), code, reason = std::move(reason), until,
                     timer](boost::system::error_code) mutable {
    close_gradually(std::move(sessions), code, std::move(reason), until, timer);
  });
}

/// Stops the I/O threads once every session is gone or the grace period is over.
void stop_when_drained(io_pool& pool, edge_context& ctx, std::chrono::steady_clock::time_point deadline,
                       std::shared_ptr<net::steady_timer> timer) {
  bool drained = ctx.stats.connections.load() <= 0 && ctx.sessions.snapshot().empty();
  if (drained || std::chrono::steady_clock::now() >= deadline) {
    if (!drained)
      log::warn("shutdown_grace_expired", {{"connections", std::to_string(ctx.stats.connections.load())}});
    pool.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(20));
  timer->async_wait([&pool, &ctx, deadline, timer](boost::system::error_code) {
    stop_when_drained(pool, ctx, deadline, timer);
  });
}

/// What the node listens on and serves, checked before anything starts.
struct endpoints {
  listen_address listen;
  net::ip::address address;
  fs::path web_root;
};

result<endpoints> check_endpoints(const node_config& config) {
  auto listen = std::get<listen_address>(parse_listen(config.listen));
  boost::system::error_code ec;
  auto address = net::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, ec);
  if (ec)
    return "node.listen: \"" + listen.host + "\" is not an IP address";
  std::error_code fs_ec;
  auto web_root = fs::canonical(config.web_root, fs_ec);
  if (fs_ec || !fs::is_directory(web_root))
    return "node.web_root: \"" + config.web_root + "\" is not a directory";
  return endpoints{listen, address, web_root};
}

caf::actor_system_config actor_config(const node_config& config) {
  caf::actor_system_config caf_config;
  caf_config.set("scheduler.max-threads", thread_count(config.actor_threads));
  // Work sharing parks idle workers on a condition variable; the default
  // work stealing polls while idle, which costs more CPU than the actors
  // themselves at chat loads.
  caf_config.set("scheduler.policy", caf::atom("sharing"));
  return caf_config;
}

session_settings session_settings_of(const node_config& config, const std::string& node_name) {
  session_settings settings;
  settings.node = node_name;
  settings.limits.max_text_chars = static_cast<std::size_t>(config.max_text_chars);
  settings.limits.default_page_size = static_cast<std::size_t>(config.page_size);
  settings.limits.max_json_depth = static_cast<std::size_t>(config.max_json_depth);
  settings.rate_per_second = config.rate_per_second;
  settings.rate_burst = static_cast<double>(config.rate_burst);
  settings.max_rooms = static_cast<std::size_t>(config.max_rooms_per_session);
  settings.auth_secret = config.auth_secret;
  settings.on_moderation = [](const moderation_request& m) {
    log::info("moderation",
              {{"room", m.room},
               {"action", std::string{to_string(m.action)}},
               {"user", m.user},
               {"by", m.by},
               {"seconds", m.seconds ? std::to_string(*m.seconds) : std::string{"until lifted"}}});
  };
  return settings;
}

/// The archive when configured: its two connections and the actor.
struct running_archive {
  archive_actor archive;
  std::function<void()> stop;
};

running_archive start_archive(caf::actor_system& system, net::io_context& ioc, const node_config& config,
                              const bus_actor& bus, const stats_ptr& stats,
                              std::shared_ptr<const file_catalog> files) {
  if (config.archive_url.empty())
    return {};
  auto handle = std::make_shared<archive_actor>();
  pg_connection::timing timing;
  auto writer = std::make_shared<pg_connection>(ioc, config.archive_url, "writer",
                                                forward_pg_events(handle, pg_link::writer), timing);
  auto reader = std::make_shared<pg_connection>(ioc, config.archive_url, "reader",
                                                forward_pg_events(handle, pg_link::reader), timing);
  archive_settings settings;
  settings.retention_days = config.archive_retention_days;
  settings.bus_retention = static_cast<std::size_t>(config.retention);
  settings.hold = static_cast<std::size_t>(config.archive_hold);
  settings.files = std::move(files);
  settings.warn = [](const std::string& event, const std::string& detail) {
    log::warn(event, {{"detail", detail}});
  };
  auto archive = spawn_archive(system, bus, writer, reader, std::move(settings), stats);
  *handle = archive;
  writer->start();
  reader->start();
  log::info("archive_configured", {{"url", without_password(config.archive_url)}});
  return {archive, [writer, reader] {
            writer->stop();
            reader->stop();
          }};
}

/// The bus: Redis when configured, else the embedded one.
std::optional<running_bus> start_bus(caf::actor_system& system, net::io_context& ioc,
                                     const node_config& config, const std::string& node_name,
                                     const stats_ptr& stats, const bus_shares& files) {
  if (!config.redis_url.empty())
    return start_redis_bus(system, ioc, config, node_name, stats, files);
  if (files.secret)
    files.secret->set(random_bytes(32)); // one process: its own
  bus_settings settings{static_cast<std::size_t>(config.retention), files.catalog};
  // (1.2) Push subscriptions beside the node's VAPID key, so both outlive it.
  if (files.push)
    settings.push_file = (fs::path{config.push_key_file}.parent_path() / "subscriptions.json").string();
  settings.push_fold_ms = static_cast<std::int64_t>(config.push_fold_seconds * 1000);
  settings.push_key = files.push;
  return running_bus{spawn_embedded_bus(system, std::move(settings), stats), {}, {}};
}

/// Removes uploads never sent after a day, then every hour; started on the
/// image workers (a directory's scan is no work for an I/O thread). Unless
/// the messages are `kept` (by Redis or an archive), the first sweep also
/// removes the files of messages this node no longer has: the embedded bus
/// starts empty.
void sweep_files(boost::asio::steady_timer& timer, file_store& store, image_workers& workers, bool kept,
                 bool first = true) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto sent_cutoff = first && !kept ? now + 1 : 0;
  workers.post([&store, now, sent_cutoff] {
    store.sweep(now - 24 * 3600, sent_cutoff, [](std::size_t removed) {
      if (removed > 0)
        log::info("files_swept", {{"removed", std::to_string(removed)}});
    });
  });
  timer.expires_after(std::chrono::hours{1});
  timer.async_wait([&timer, &store, &workers, kept](boost::system::error_code ec) {
    if (!ec)
      sweep_files(timer, store, workers, kept, false);
  });
}

/// Probes the file store every 10 s from the image workers (a network
/// volume may hang: no I/O thread waits on it). While it fails, uploads
/// answer `unavailable` and /readyz says so; each change is logged once.
void watch_store(boost::asio::steady_timer& timer, file_store& store, image_workers& workers,
                 file_stats& stats) {
  workers.post([&store, &stats] {
    store.probe([&stats](store_error problem) {
      bool up = problem.empty();
      if (stats.store_up.exchange(up) != up) {
        if (up)
          log::info("file_store_reachable", {});
        else
          log::warn("file_store_unreachable", {{"detail", problem}});
      }
    });
  });
  timer.expires_after(std::chrono::seconds{10});
  timer.async_wait([&timer, &store, &workers, &stats](boost::system::error_code ec) {
    if (!ec)
      watch_store(timer, store, workers, stats);
  });
}

/// The file store `[files] store` names: a directory, or an S3-compatible
/// bucket with the credentials in the environment. None, with the reason,
/// when it cannot be made.
std::unique_ptr<file_store> make_file_store(const node_config& config, std::string& problem) {
  if (!config.files_store.starts_with("s3://"))
    return std::make_unique<directory_file_store>(config.files_store.substr(4)); // dir:PATH
  s3_config s3;
  s3.bucket = config.files_store.substr(5);
  s3.region = config.files_s3_region;
  s3.path_style = config.files_s3_path_style;
  s3.endpoint = config.files_s3_endpoint.empty() ? "https://s3." + s3.region + ".amazonaws.com"
                                                 : config.files_s3_endpoint;
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string{v ? v : ""};
  };
  s3.credentials = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
  if (s3.credentials.access_key.empty() || s3.credentials.secret_key.empty()) {
    problem =
      "files.store: an S3 bucket needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment";
    return nullptr;
  }
  try {
    return std::make_unique<s3_store>(std::move(s3), fs::temp_directory_path() / "chatnode-uploads");
  } catch (const std::exception& e) {
    problem = std::string{"files.s3_endpoint: "} + e.what();
    return nullptr;
  }
}

/// The edge's limits and readiness, from the configuration.
void configure_edge(edge_context& ctx, const node_config& config, const std::string& node_name,
                    const fs::path& web_root) {
  ctx.node_name = node_name;
  ctx.web_root = web_root;
  ctx.allowed_origins = config.allowed_origins;
  ctx.allow_missing_origin = config.allow_missing_origin;
  ctx.max_frame_bytes = static_cast<std::size_t>(config.max_frame_bytes);
  ctx.outbound_queue = static_cast<std::size_t>(config.outbound_queue);
  ctx.max_connections = static_cast<std::size_t>(config.max_connections);
  ctx.per_address.set_limit(static_cast<std::size_t>(config.max_connections_per_address));
  ctx.header_timeout = to_ms(config.header_timeout_seconds);
  ctx.max_header_bytes = static_cast<std::uint32_t>(config.max_header_bytes);
  ctx.idle_timeout = to_ms(config.idle_timeout_seconds);
  ctx.redis_configured = !config.redis_url.empty();
  ctx.not_ready_reason = [&ctx]() -> std::string {
    if (ctx.stopping.load())
      return "shutting down";
    if (ctx.redis_configured && !ctx.chat->redis_up.load())
      return ctx.chat->redis_reason();
    // Until the bus has read the shared ticket secret, a PUT the balancer
    // sends here fails: a node just started waits for it (once known it stays).
    if (ctx.uploads && ctx.uploads->secret && !ctx.uploads->secret->get())
      return "starting: the upload ticket secret is not read yet";
    return {};
  };
}

/// The address the node says it listens on: a wildcard shown as localhost.
std::string shown_url(const listen_address& listen, const tcp::endpoint& bound) {
  auto host =
    listen.host == "0.0.0.0" || listen.host == "::" ? std::string{"localhost"} : bound.address().to_string();
  if (bound.address().is_v6() && host != "localhost")
    host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound.port()) + "/";
}

/// On SIGTERM the node drains (1012, spread over drain_seconds); on SIGINT
/// it closes every client at once (1001); either way it stops once the
/// sessions are gone or grace_seconds have passed.
void drain_on_signal(net::signal_set& signals, const node_config& config, edge_context& ctx, io_pool& pool,
                     std::shared_ptr<listener> acceptor) {
  signals.async_wait([&config, &ctx, &pool, acceptor](boost::system::error_code error, int signal) {
    if (error)
      return;
    auto& ioc = pool.at(0).context();
    auto sessions = ctx.sessions.snapshot();
    log::info("shutting_down",
              {{"signal", std::to_string(signal)}, {"connections", std::to_string(sessions.size())}});
    ctx.stopping.store(true); // /readyz fails from now on
    acceptor->stop();
    auto seconds = [](double s) {
      return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
    };
    auto now = std::chrono::steady_clock::now();
    if (signal == SIGTERM) {
      // An orchestrator restarting the node: 1012 tells clients to come back
      // at once, to another node; spreading the closes keeps them from all
      // reconnecting in the same instant.
      close_gradually(std::move(sessions), close_code::service_restart, "service restart",
                      now + seconds(config.drain_seconds), std::make_shared<net::steady_timer>(ioc));
    } else {
      for (auto& session : sessions)
        session->close(close_code::going_away, "server shutting down");
    }
    stop_when_drained(pool, ctx, now + seconds(config.grace_seconds),
                      std::make_shared<net::steady_timer>(ioc));
  });
}

} // namespace

int startup_error(const std::string& message, int exit_code) {
  log::fail(message);
  return exit_code;
}

int run_server(const node_config& config) {
  log::set_level(log::parse_level(config.log_level));
  log::set_json(config.log_format == "json");
  std::signal(SIGPIPE, SIG_IGN);
  auto checked = check_endpoints(config);
  if (auto* problem = std::get_if<std::string>(&checked))
    return startup_error(*problem);
  auto keys_loaded = load_api_keys(config);
  if (!ok(keys_loaded))
    return startup_error(error_of(keys_loaded));
  auto api_keys = std::get<0>(keys_loaded).keys;
  auto command_book = std::get<0>(keys_loaded).commands;
  std::string networks_problem;
  auto preview_networks = allowed_networks::parse(config.previews_allow_private, networks_problem);
  if (!networks_problem.empty())
    return startup_error("previews.allow_private: " + networks_problem);
  auto push_networks = allowed_networks::parse(config.push_allow_private, networks_problem);
  if (!networks_problem.empty())
    return startup_error("push.allow_private: " + networks_problem);
  const auto& where = std::get<endpoints>(checked);
  auto node_name = config.name.empty() ? host_name() : config.name;
  if (auto problem = io_backend_problem(); !problem.empty())
    return startup_error("the I/O backend cannot start: " + problem, 1);

  // The actor system outlives the I/O context: sockets held by actors are
  // released while both still exist. Sessions unregister from the context
  // when destroyed, which can happen as late as the I/O context's
  // destruction: the context outlives it too.
  auto caf_config = actor_config(config);
  caf::actor_system system{caf_config};
  edge_context ctx;
  ctx.chat = std::make_shared<chat_stats>();
  // Files outlive the connections that stream them.
  std::string store_problem;
  auto file_store = config.files_enabled ? make_file_store(config, store_problem) : nullptr;
  if (!store_problem.empty())
    return startup_error(store_problem);
  // (1.2) Web Push: the deployment's VAPID key.
  auto push_key = push_identity_of(config);
  if (!ok(push_key))
    return startup_error(error_of(push_key));
  auto push = std::get<0>(push_key);
  if (auto problem = push ? push->problem() : nullptr)
    log::warn("push_unavailable", {{"reason", *problem}});
  upload_settings uploads{file_store.get(), {}, nullptr, &ctx.stats.files};
  // Files: the store is a directory every node shares; the bus sets the
  // ticket secret (this process's own on the embedded bus, so a restart
  // voids tickets not yet used there: they last 10 minutes).
  bool takes_files = config.files_enabled;
  auto catalog =
    takes_files ? std::make_shared<const store_catalog>(*file_store, ctx.stats.files.store_up) : nullptr;
  auto ticket_secret = takes_files ? std::make_shared<upload_secret>() : nullptr;
  io_pool pool{thread_count(config.io_threads),
               std::chrono::nanoseconds{static_cast<std::int64_t>(config.write_coalesce_ms * 1e6)},
               sweep_period_for(to_ms(config.idle_timeout_seconds))};
  // Thumbnails are made off the I/O and actor threads; the workers stop
  // before the I/O threads they hand results back to.
  image_workers images{1, 64};
  // Redis links, timers and signals run on the first I/O thread.
  auto& ioc = pool.at(0).context();

  // The bus (Redis when configured, else the embedded one), the hub, and
  // how a connection gets its session.
  auto started =
    start_bus(system, ioc, config, node_name, ctx.chat, bus_shares{catalog, ticket_secret, push});
  if (!started)
    return 2;
  auto bus = started->bus;
  auto stop_redis = std::move(started->stop);
  ctx.redis_shards = std::move(started->shards);
  auto hub = spawn_hub(system, bus, ctx.chat,
                       {static_cast<std::size_t>(config.presence_big_room),
                        std::chrono::milliseconds{static_cast<std::int64_t>(config.presence_batch_ms)},
                        static_cast<std::size_t>(config.presence_batch_members)});
  auto directory = spawn_directory(system, bus);
  auto archived = start_archive(system, ioc, config, bus, ctx.chat, catalog);
  auto archive = archived.archive;
  ctx.archive_configured = !config.archive_url.empty();
  auto settings_for_api = session_settings_of(config, node_name);
  auto api =
    spawn_api(system, bus, settings_for_api.limits, ctx.chat, settings_for_api.on_moderation, archive);
  ctx.api_keys = api_keys;
  ctx.call_api = [&system, api](api_request req, std::function<void(api_response)> done) {
    system.spawn(
      [](caf::event_based_actor* self, api_actor api, api_request req,
         std::function<void(api_response)> done) {
        self->request(api, std::chrono::seconds{10}, api_atom::value, std::move(req))
          .then([done](api_response& answer) { done(std::move(answer)); },
                [done](const caf::error&) {
                  done({503, "{\"error\":\"the node did not answer in time\"}\n"});
                });
      },
      api, std::move(req), std::move(done));
  };
  configure_edge(ctx, config, node_name, where.web_root);
  auto settings_for_sessions = session_settings_of(config, node_name);
  settings_for_sessions.archive = archive;
  settings_for_sessions.push = push;
  settings_for_sessions.push_allow_http_endpoints = config.push_allow_http_endpoints;
  settings_for_sessions.push_allowed_hosts = config.push_allowed_hosts;
  // (1.2) Link previews: fetched on the first I/O thread, never on an actor's.
  previewer_actor previewer;
  if (config.previews_enabled) {
    fetch_limits limits;
    limits.allow_private = preview_networks;
    previewer_settings preview_settings;
    preview_settings.in_unlisted = config.previews_in_unlisted_rooms;
    // With a file store, a preview's image is kept there as a thumbnail.
    preview_images kept_images;
    if (takes_files)
      kept_images = {file_store.get(), &images, fs::temp_directory_path() / "chatnode-previews"};
    previewer = spawn_previewer(
      system, bus, std::make_shared<preview_fetcher>(ioc, std::move(limits), std::move(kept_images)),
      preview_settings, ctx.chat);
    settings_for_sessions.previewer = previewer;
  }
  // (1.2) The identity provider's keys, fetched on the first I/O thread.
  issuer_actor issuer_keeper;
  if (!config.auth_jwks_url.empty()) {
    auto keys = std::make_shared<issuer_keys>();
    issuer_keeper_settings keeper_settings;
    keeper_settings.jwks_url = config.auth_jwks_url;
    keeper_settings.on_fetch = [url = config.auth_jwks_url](std::size_t count, const std::string& problem) {
      if (problem.empty())
        log::info("issuer_keys", {{"url", url}, {"keys", std::to_string(count)}});
      else
        log::warn("issuer_keys_unavailable", {{"url", url}, {"reason", problem}});
    };
    issuer_keeper = spawn_issuer_keeper(system, keys, std::make_shared<jwks_source>(ioc),
                                        std::move(keeper_settings), ctx.chat);
    settings_for_sessions.issuer_keys = keys;
    settings_for_sessions.issuer_keeper = issuer_keeper;
    settings_for_sessions.expected_issuer = config.auth_issuer;
    settings_for_sessions.expected_audience = config.auth_audience;
  }
  // (1.2) Web Push: sent from the first I/O thread, decided by the bus.
  pusher_actor pusher;
  if (push) {
    push_post_limits limits;
    limits.allow_http = config.push_allow_http_endpoints;
    limits.allow_private = push_networks;
    limits.allowed_hosts = config.push_allowed_hosts;
    pusher_settings push_settings;
    push_settings.identity = push;
    push_settings.lease =
      std::chrono::milliseconds{static_cast<std::int64_t>(config.push_claim_seconds * 1000)};
    pusher = spawn_pusher(
      system, bus, std::make_shared<push_delivery>(ioc, push, config.push_vapid_subject, std::move(limits)),
      push_settings, ctx.chat);
    settings_for_sessions.pusher = pusher;
  }
  // (1.2) Webhooks: every entry posted to the receiver, from the first I/O thread.
  webhook_actor webhooks;
  if (!config.webhooks_url.empty()) {
    webhook_settings hook_settings;
    hook_settings.secret = config.webhooks_secret;
    hook_settings.retry_for =
      std::chrono::milliseconds{static_cast<std::int64_t>(config.webhooks_retry_for_seconds * 1000)};
    hook_settings.hold = static_cast<std::size_t>(config.webhooks_hold);
    hook_settings.warn = [](const std::string& event, const std::string& detail) {
      log::warn(event, {{"detail", detail}});
    };
    webhooks = spawn_webhook_sender(system, bus, std::make_shared<webhook_delivery>(ioc, config.webhooks_url),
                                    std::move(hook_settings), ctx.chat);
    caf::anon_send(bus, hooker_atom::value, webhooks, static_cast<std::uint64_t>(config.webhooks_hold),
                   config.webhooks_private);
    log::info("webhooks_configured", {{"url", config.webhooks_url},
                                      {"private_rooms", config.webhooks_private ? "sent" : "not sent"}});
  }
  // (1.2) Slash commands, called from the first I/O thread.
  commands_actor command_runner;
  if (!command_book->empty()) {
    command_runner_settings command_settings;
    command_settings.book = command_book;
    command_settings.limits = settings_for_sessions.limits;
    command_runner = spawn_command_runner(system, bus, std::make_shared<command_delivery>(ioc),
                                          std::move(command_settings), ctx.chat);
    settings_for_sessions.commands = command_book;
    settings_for_sessions.command_runner = command_runner;
    log::info("commands_configured", {{"commands", std::to_string(command_book->size())}});
  }
  boost::asio::steady_timer sweeper{ioc};
  boost::asio::steady_timer store_watch{ioc};
  if (takes_files) {
    ctx.files_configured = true;
    sweep_files(sweeper, *file_store, images, !config.archive_url.empty() || !config.redis_url.empty());
    watch_store(store_watch, *file_store, images, ctx.stats.files);
    uploads.secret = ticket_secret;
    settings_for_sessions.uploads.catalog = catalog;
    settings_for_sessions.uploads.secret = ticket_secret;
    settings_for_sessions.uploads.max_bytes = static_cast<std::uint64_t>(config.files_max_bytes);
    settings_for_sessions.uploads.refused_types = config.files_refused_types;
    settings_for_sessions.uploads.max_open =
      static_cast<std::size_t>(config.files_max_uploads_per_connection);
    settings_for_sessions.uploads.daily_bytes = static_cast<std::uint64_t>(config.files_daily_bytes_per_user);
    ctx.uploads = &uploads;
    try {
      init_image_library("chatnode");
      uploads.images = &images;
    } catch (const std::exception& e) {
      log::warn("thumbnails_off", {{"reason", e.what()}});
    }
  }
  ctx.spawn_session = [&system, hub, bus, directory,
                       settings = std::make_shared<const session_settings>(std::move(settings_for_sessions)),
                       chat = ctx.chat](sink_ptr sink, std::string id) {
    return spawn_session(system, std::move(sink), std::move(id), hub, bus, directory, settings, chat);
  };

  // Ends the actors, then the Redis links while the I/O context can still
  // run their cleanup.
  auto stop_all = [&] {
    ctx.stopping.store(true);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(api, caf::exit_reason::user_shutdown);
    if (archive)
      caf::anon_send_exit(archive, caf::exit_reason::user_shutdown);
    if (previewer)
      caf::anon_send_exit(previewer, caf::exit_reason::user_shutdown);
    if (pusher)
      caf::anon_send_exit(pusher, caf::exit_reason::user_shutdown);
    if (webhooks)
      caf::anon_send_exit(webhooks, caf::exit_reason::user_shutdown);
    if (command_runner)
      caf::anon_send_exit(command_runner, caf::exit_reason::user_shutdown);
    if (issuer_keeper)
      caf::anon_send_exit(issuer_keeper, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    issuer_keeper = nullptr;
    previewer = nullptr;
    pusher = nullptr;
    webhooks = nullptr;
    command_runner = nullptr;
    archive = nullptr;
    hub = nullptr;
    directory = nullptr;
    api = nullptr;
    ctx.call_api = nullptr;
    bus = nullptr;
    ctx.spawn_session = nullptr;
    system.await_all_actors_done();
    if (archived.stop)
      std::exchange(archived.stop, nullptr)();
    if (stop_redis)
      std::exchange(stop_redis, nullptr)();
    pool.poll();
  };

  auto acceptor = std::make_shared<listener>(pool, ctx);
  if (auto opened = acceptor->open({where.address, where.listen.port}); !ok(opened)) {
    stop_all();
    return startup_error("node.listen: cannot listen on " + config.listen + ": " + error_of(opened), 1);
  }
  acceptor->run();
  auto url = shown_url(where.listen, acceptor->local_endpoint());
  log::info("listening", {{"node", node_name}, {"url", url}});
  // Signals are caught before the node says it listens: a SIGTERM right
  // after that line must drain, not kill.
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  drain_on_signal(signals, config, ctx, pool, acceptor);
  log::announce("chatnode listening on " + url, "listening", {{"node", node_name}, {"url", url}});

  pool.run();

  // The I/O loop is stopped; end every actor while the sockets they hold can
  // still be destroyed cleanly.
  for (auto& session : ctx.sessions.snapshot())
    if (auto actor = session->actor())
      caf::anon_send(actor, closed_atom::value);
  stop_all();
  // No store completion runs from here on: the connections it would answer go with the I/O threads.
  if (file_store)
    file_store->stop();
  log::info("stopped", {{"node", node_name}});
  return 0;
}

} // namespace chatnode

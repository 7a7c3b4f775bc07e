// The Redis bridge actor: its parts put together (redis_bridge_state.hpp),
// its links, its heartbeat, and the channels' payloads routed to the part
// they concern. Each part answers its own messages.

#include "actors/redis_bus/redis_bridge.hpp"

#include "actors/redis_bus/redis_bridge_state.hpp"
#include "actors/contracts/chat_stats.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <tuple>
#include <utility>

namespace chatnode {

namespace {

using namespace bridge;

/// The presence heartbeat, and the catch-ups due.
void heartbeat(bridge_state& st) {
  if (!st.calls.command_up())
    return;
  st.presence.heartbeat();
  st.rooms.catch_up_all();
  st.files.fetch_secret();
  st.push.fetch_key();
}

void on_link(bridge_state& st, redis_link link, bool up, const std::string& reason) {
  st.calls.set_link(link, up, reason);
  if (link != redis_link::commands) {
    if (!up)
      st.rooms.lose_subscriptions();
    return;
  }
  if (!up) {
    st.rooms.fail_waiting();
    return;
  }
  st.presence.unsync_all();
  heartbeat(st);
  st.rooms.send_resyncs();
}

/// What concerns several parts: the links, the channels, the heartbeat, and
/// a hub subscribing (it also takes the notices for users).
auto bridge_handlers(bridge_actor* self, std::chrono::milliseconds tick) {
  auto& st = self->state;
  return std::make_tuple(
    [&st](link_atom, redis_link link, bool up, const std::string& reason) { on_link(st, link, up, reason); },
    [&st](published_atom, const std::string& channel, std::string& payload) {
      if (channel == st.core.keys.people_channel())
        st.people.on_notice(payload);
      else
        st.rooms.on_published(channel, std::move(payload));
    },
    [self, tick](tick_atom) {
      heartbeat(self->state);
      self->state.rooms.expire_waiting();
      self->delayed_send(self, tick, tick_atom::value);
    },
    [&st](subscribe_atom, const std::string& room, const hub_actor& hub) {
      st.rooms.subscribe(room, hub);
      st.people.set_notice_hub(hub);
    });
}

// -- the actor ------------------------------------------------------------------

redis_bridge_actor::behavior_type redis_bridge(bridge_actor* self, std::shared_ptr<redis_port> commands,
                                               std::shared_ptr<redis_port> subscriber,
                                               redis_bridge_settings settings, stats_ptr stats) {
  auto& st = self->state;
  st.core.stats = std::move(stats);
  st.core.settings = std::move(settings);
  st.core.keys = redis_keys{st.core.settings.key_prefix};
  // An error that comes as a message (an actor that did not take one of
  // ours answers with it) must not stop the bus: CAF's default would.
  self->set_error_handler([](caf::error&) {});
  st.calls.start(std::move(commands), std::move(subscriber));
  auto tick = std::chrono::duration_cast<std::chrono::milliseconds>(st.core.settings.presence_ttl / 3);
  self->delayed_send(self, tick, tick_atom::value);
  // Each part's handlers, checked together against the interface.
  return std::apply(
    [](auto&&... handlers) {
      return redis_bridge_actor::behavior_type{std::forward<decltype(handlers)>(handlers)...};
    },
    std::tuple_cat(bridge_handlers(self, tick), st.calls.handlers(), st.rooms.handlers(),
                   st.messages.handlers(), st.presence.handlers(), st.people.handlers(),
                   st.directory.handlers(), st.feed.handlers(), st.files.handlers(), st.previews.handlers(),
                   st.push.handlers(), st.pushes.handlers()));
}

} // namespace

bus_actor spawn_redis_bridge(caf::actor_system& sys, std::shared_ptr<redis_port> commands,
                             std::shared_ptr<redis_port> subscriber, redis_bridge_settings settings,
                             stats_ptr stats) {
  if (settings.incarnation.empty()) {
    std::random_device random;
    std::uint64_t value =
      (std::uint64_t{random()} << 32) ^ random() ^
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    settings.incarnation = text;
  }
  return sys.spawn(redis_bridge, std::move(commands), std::move(subscriber), std::move(settings),
                   std::move(stats));
}

redis_events forward_redis_events(std::shared_ptr<bus_actor> bus, redis_link link) {
  // The connections' events are the bridge's own messages, beyond the bus
  // interface, so they are sent without its type; its behaviour has them.
  auto bridge = [bus] { return caf::actor_cast<caf::actor>(*bus); };
  redis_events events;
  events.up = [bridge, link] { caf::anon_send(bridge(), link_atom::value, link, true, std::string{}); };
  events.down = [bridge, link](const std::string& reason) {
    caf::anon_send(bridge(), link_atom::value, link, false, reason);
  };
  events.subscribed = [bridge](const std::string& channel) {
    caf::anon_send(bridge(), channel_atom::value, channel);
  };
  events.unsubscribed = [bridge](const std::string& channel) {
    caf::anon_send(bridge(), unsubscribed_atom::value, channel);
  };
  events.message = [bridge](const std::string& channel, std::string payload) {
    caf::anon_send(bridge(), published_atom::value, channel, std::move(payload));
  };
  return events;
}

} // namespace chatnode

// The Redis bridge actor: its links, its heartbeat, and the messages it
// answers. Rooms and presence live in redis_bridge_rooms.cpp and
// redis_bridge_presence.cpp, commands and scripts in redis_bridge_calls.cpp.

#include "actors/redis_bus/redis_bridge.hpp"

#include "actors/redis_bus/redis_bridge_state.hpp"
#include "actors/contracts/chat_stats.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <cstdio>
#include <random>

namespace chatnode {

namespace {

using namespace bridge;

void heartbeat(bridge_actor* self) {
  auto& st = self->state;
  if (!st.command_up)
    return;
  for (const auto& [room, names] : st.names)
    refresh_room(self, room);
  sync_unsynced(self);
  for (auto& [room, link] : st.rooms)
    if (link.needs_catch_up)
      catch_up(self, room);
}

void on_link(bridge_actor* self, int link, bool up, const std::string& reason) {
  auto& st = self->state;
  if (link == command_link) {
    if (st.command_up && !up)
      self->state.stats->redis_reconnects.fetch_add(1, std::memory_order_relaxed);
    st.command_up = up;
    st.command_reason = up ? "" : reason;
    if (up) {
      for (const auto& [room, names] : st.names)
        st.unsynced_rooms.insert(room);
      heartbeat(self);
      send_resyncs(self);
    } else {
      // Replies still in flight fail on their own; queries waiting for a
      // subscription fail now rather than wait for a link that is down.
      for (auto& [room, r] : st.rooms) {
        for (auto& w : r.waiting)
          w.promise.deliver(caf::make_error(caf::sec::runtime_error, "redis is not connected"));
        r.waiting.clear();
      }
    }
  } else {
    st.subscriber_up = up;
    st.subscriber_reason = up ? "" : reason;
    if (!up)
      for (auto& [room, r] : st.rooms)
        lose_subscription(r);
  }
  publish_status(self);
}

/// A payload on a room's channel: a message or change, a typing notice, a
/// presence event or a read position.
void on_published(bridge_actor* self, const std::string& channel, std::string payload) {
  auto& st = self->state;
  if (channel == st.keys.people_channel())
    return on_people(self, std::move(payload));
  const auto* room = room_of_channel(st, channel);
  auto nl = payload.find('\n');
  if (room == nullptr || payload.size() < 2 || nl == std::string::npos)
    return;
  auto& r = st.rooms[*room];
  std::string_view head{payload.data() + 1, nl - 1};
  switch (payload[0]) {
    case 'm': // m<id>\n<frame>
    case 'd': // d<id> <previous>\n<frame>
      on_message(self, *room, r, payload[0], head, payload.substr(nl + 1));
      break;
    case 't': // t<session>\n<user>
      self->send(r.hub, typing_atom::value, *room, payload.substr(nl + 1), std::string{head});
      break;
    case 'e': // e<version>\n<join|leave>\n<count>\n<user>
      on_presence(self, r, *room, head, std::string_view{payload}.substr(nl + 1));
      break;
    case 'k': // k<user>\n<by>
      on_kick(self, r, *room, std::string{head}, payload.substr(nl + 1));
      break;
    case 'r': // r<id> <unread>\n<user>
      on_read(self, r, *room, head, payload.substr(nl + 1));
      break;
  }
}

// -- the actor ------------------------------------------------------------------

redis_bridge_actor::behavior_type redis_bridge(bridge_actor* self, std::shared_ptr<redis_port> commands,
                                               std::shared_ptr<redis_port> subscriber,
                                               redis_bridge_settings settings, stats_ptr stats) {
  auto& st = self->state;
  st.stats = std::move(stats);
  st.commands = std::move(commands);
  st.subscriber = std::move(subscriber);
  st.settings = std::move(settings);
  st.keys = redis_keys{st.settings.key_prefix};
  // An error that comes as a message (an actor that did not take one of
  // ours answers with it) must not stop the bus: CAF's default would.
  self->set_error_handler([](caf::error&) {});
  publish_status(self);
  // Every node hears notices for users (a conversation opened with them).
  st.subscriber->subscribe({st.keys.people_channel()});
  auto tick = std::chrono::duration_cast<std::chrono::milliseconds>(st.settings.presence_ttl / 3);
  self->delayed_send(self, tick, tick_atom::value);
  return {
    [self](link_atom, int link, bool up, const std::string& reason) { on_link(self, link, up, reason); },
    [self](reply_atom, std::uint64_t token, redis_reply& reply) {
      auto it = self->state.calls.find(token);
      if (it == self->state.calls.end())
        return;
      auto [started, k] = std::move(it->second);
      self->state.calls.erase(it);
      self->state.stats->redis_rtt.observe(std::chrono::duration<double>(clock::now() - started).count());
      k(std::move(reply));
    },
    [self](channel_atom, const std::string& channel) {
      const auto* room = room_of_channel(self->state, channel);
      if (room == nullptr)
        return;
      auto& r = self->state.rooms[*room];
      r.subscribed = true;
      r.needs_catch_up = true;
      catch_up(self, *room);
      // Presence published while the subscription was down is lost: the
      // hub compares what it has told its members with Redis again.
      r.resync_due = r.subscribed_before;
      r.subscribed_before = true;
      send_resyncs(self);
    },
    [self](unsubscribed_atom, const std::string& channel) {
      // Dropped alone (a cluster slot moved, or its master's link fell):
      // what the channel carried meanwhile is read back once it is back.
      if (const auto* room = room_of_channel(self->state, channel))
        lose_subscription(self->state.rooms[*room]);
    },
    [self](published_atom, const std::string& channel, std::string& payload) {
      on_published(self, channel, std::move(payload));
    },
    [self, tick](tick_atom) {
      heartbeat(self);
      expire_waiting(self);
      self->delayed_send(self, tick, tick_atom::value);
    },
    [self](subscribe_atom, const std::string& room, const hub_actor& hub) {
      auto& st = self->state;
      auto [it, created] = st.rooms.try_emplace(room);
      it->second.hub = hub;
      st.notice_hub = hub;
      if (created) {
        st.channel_rooms[st.keys.channel(room)] = room;
        st.subscriber->subscribe({st.keys.channel(room)});
      }
    },
    [self](unsubscribe_atom, const std::string& room, const hub_actor&) {
      auto& st = self->state;
      auto it = st.rooms.find(room);
      if (it == st.rooms.end())
        return;
      for (auto& w : it->second.waiting)
        w.promise.deliver(caf::make_error(caf::sec::runtime_error, "room closed"));
      st.rooms.erase(it);
      st.channel_rooms.erase(st.keys.channel(room));
      st.subscriber->unsubscribe({st.keys.channel(room)});
    },
    [self](recent_atom, recent_query& query) -> caf::result<room_snapshot> {
      auto& st = self->state;
      auto promise = self->make_response_promise();
      if (!st.command_up) {
        // The promise owns the answer now: errors go through it too.
        promise.deliver(caf::make_error(caf::sec::runtime_error, "redis is not connected"));
        return caf::delegated<room_snapshot>{};
      }
      auto it = st.rooms.find(query.room);
      waiting_query w{std::move(query), promise, clock::now()};
      if (it == st.rooms.end())
        answer_snapshot(self, w.query.room, std::move(w));
      else if (!it->second.subscribed || it->second.catching_up || it->second.needs_catch_up)
        it->second.waiting.push_back(std::move(w)); // no gap: answered once subscribed
      else
        answer_snapshot(self, it->first, std::move(w));
      return caf::delegated<room_snapshot>{};
    },
    [self](who_atom, const std::string& room) -> caf::result<presence_snapshot> {
      auto promise = self->make_response_promise();
      answer_who(self, room, promise);
      return caf::delegated<presence_snapshot>{};
    },
    [self](history_atom, const history_query& query) -> caf::result<message_page> {
      auto promise = self->make_response_promise();
      answer_history(self, query, promise);
      return caf::delegated<message_page>{};
    },
    [self](store_atom, const store_request& req) -> caf::result<store_result> {
      auto promise = self->make_response_promise();
      store(self, req, promise);
      return caf::delegated<store_result>{};
    },
    [self](admit_atom, const admit_request& req) -> caf::result<admission> {
      auto promise = self->make_response_promise();
      admit(self, req, promise);
      return caf::delegated<admission>{};
    },
    [self](moderate_atom, const moderation_request& req) -> caf::result<store_result> {
      auto promise = self->make_response_promise();
      moderate(self, req, promise);
      return caf::delegated<store_result>{};
    },
    [self](rooms_atom) -> caf::result<directory_listing> {
      auto promise = self->make_response_promise();
      list_rooms(self, promise);
      return caf::delegated<directory_listing>{};
    },
    [self](flush_atom) { flush_directory(self); },
    [self](disconnect_atom, const std::string& user) { disconnect_everywhere(self, user); },
    [self](dms_atom, const std::string& user) -> caf::result<conversation_list> {
      auto promise = self->make_response_promise();
      list_conversations(self, user, promise);
      return caf::delegated<conversation_list>{};
    },
    [self](timer_atom, std::uint64_t token) {
      auto it = self->state.timers.find(token);
      if (it == self->state.timers.end())
        return;
      auto f = std::move(it->second);
      self->state.timers.erase(it);
      f();
    },
    [self](dm_atom, const dm_request& req) -> caf::result<std::string> {
      auto promise = self->make_response_promise();
      open_dm(self, req, promise);
      return caf::delegated<std::string>{};
    },
    [self](read_atom, const read_request& req) -> caf::result<read_result> {
      auto promise = self->make_response_promise();
      mark_read(self, req, promise);
      return caf::delegated<read_result>{};
    },
    [self](typing_atom, const std::string& room, const std::string& user, const std::string& session) {
      auto& st = self->state;
      if (st.command_up)
        call(self, {st.publish_command(), st.keys.channel(room), "t" + session + "\n" + user},
             [](redis_reply) {});
    },
    [self](entries_atom, const entries_query& query) -> caf::result<entry_batch> {
      auto promise = self->make_response_promise();
      answer_entries(self, query, promise);
      return caf::delegated<entry_batch>{};
    },
    [self](archiver_atom, const archive_actor& archive, std::uint64_t hold) {
      self->state.archive = archive;
      self->state.archive_hold = hold;
    },
    [self](archived_atom, const archived_mark& m) { note_archived(self, m); },
    [self](member_atom, const std::string& room, const std::string& name, bool present) {
      auto& st = self->state;
      st.names[room].set(name, present);
      if (st.command_up)
        send_presence(self, room, name, present);
      else
        st.unsynced_rooms.insert(room);
    },
  };
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

redis_events forward_redis_events(std::shared_ptr<bus_actor> bus, int link) {
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

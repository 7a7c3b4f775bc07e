#include "actors/redis_bridge.hpp"

#include "actors/messages.hpp"
#include "actors/protocol.hpp"
#include "actors/redis_scripts.hpp"
#include "actors/stats.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::redis_reply)

namespace chatnode {

namespace {

using link_atom = caf::atom_constant<caf::atom("link")>;
using channel_atom = caf::atom_constant<caf::atom("channel")>;
using unsubscribed_atom = caf::atom_constant<caf::atom("unsub")>;
using published_atom = caf::atom_constant<caf::atom("published")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

constexpr int command_link = 0;
constexpr int subscriber_link = 1;
constexpr std::size_t catch_up_batch = 500;
constexpr std::size_t max_held = 10000;

using clock = std::chrono::steady_clock;

struct waiting_query {
  recent_query query;
  caf::response_promise promise;
  clock::time_point since;
};

/// A room this node has local members in.
struct room_link {
  caf::actor hub;
  bool subscribed = false;    ///< SUBSCRIBE confirmed on the current link
  bool needs_catch_up = true; ///< the stream may hold what the channel did not bring
  bool catching_up = false;
  std::optional<message_id> last;   ///< newest message handed to the hub
  std::vector<stored_message> held; ///< live messages that came during a catch-up
  std::vector<waiting_query> waiting;
  bool subscribed_before = false;
  bool resync_due = false; ///< presence may have been lost; tell the hub once Redis answers
};

/// A Lua script and its SHA-1, by which Redis caches it (EVALSHA).
struct script {
  explicit script(const char* text)
    : source(text),
      sha(sha1_hex(source)) {}
  std::string source;
  std::string sha;

  static std::string sha1_hex(const std::string& text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      constexpr const char* digits = "0123456789abcdef";
      hex += digits[digest[i] >> 4];
      hex += digits[digest[i] & 0xf];
    }
    return hex;
  }
};

struct bridge_state {
  redis_bridge_settings settings;
  std::shared_ptr<redis_port> commands;
  std::shared_ptr<redis_port> subscriber;
  bool command_up = false;
  bool subscriber_up = false;
  std::string command_reason = "connecting";
  std::string subscriber_reason = "connecting";
  std::unordered_map<std::string, room_link> rooms;
  std::unordered_map<std::string, std::string> channel_rooms; ///< channel -> room
  /// name -> present, per room, as this node last told Redis or still must.
  std::map<std::string, std::map<std::string, bool>> names;
  std::set<std::string> unsynced_rooms; ///< presence not yet confirmed by Redis
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, std::pair<clock::time_point, std::function<void(redis_reply)>>> calls;
  script store{redis_scripts::store};
  script snapshot{redis_scripts::snapshot};
  script presence{redis_scripts::presence};
  script refresh{redis_scripts::refresh};

  std::string key(const std::string& room, const char* suffix) const {
    return settings.key_prefix + "{" + room + "}:" + suffix;
  }
  std::string channel(const std::string& room) const { return key(room, "live"); }
  /// The keys every presence script takes, in its order.
  std::vector<std::string> presence_keys(const std::string& room) const {
    return {key(room, "members"), key(room, "pver"), channel(room), key(room, "nodes")};
  }
  std::string ttl_ms() const { return std::to_string(settings.presence_ttl.count()); }
  std::string publish_command() const { return settings.sharded ? "SPUBLISH" : "PUBLISH"; }

  static inline const char* name = "redis_bridge";
};

using bridge_actor = caf::stateful_actor<bridge_state>;

// -- plumbing -------------------------------------------------------------------

void publish_status(bridge_actor* self) {
  auto& st = self->state;
  bool up = st.command_up && st.subscriber_up;
  stats().redis_up.store(up);
  if (!st.command_up)
    stats().set_redis_reason("redis: " + st.command_reason);
  else if (!st.subscriber_up)
    stats().set_redis_reason("redis subscriber: " + st.subscriber_reason);
  else
    stats().set_redis_reason({});
}

/// Sends a command; `k` runs on the actor with the reply (an error reply when
/// the link is down).
void call(bridge_actor* self, std::vector<std::string> args, std::function<void(redis_reply)> k) {
  auto& st = self->state;
  if (!st.command_up) {
    k(redis_reply::error("redis is not connected"));
    return;
  }
  auto token = st.next_token++;
  st.calls.emplace(token, std::make_pair(clock::now(), std::move(k)));
  stats().redis_commands.fetch_add(1, std::memory_order_relaxed);
  st.commands->command(std::move(args), [me = caf::actor{self}, token](redis_reply reply) {
    caf::anon_send(me, reply_atom::value, token, std::move(reply));
  });
}

/// Runs a script by its SHA once loaded, by its source until then or after
/// Redis lost its script cache.
void run_script(bridge_actor* self, const script& s, std::vector<std::string> keys,
                std::vector<std::string> args, std::function<void(redis_reply)> k, bool by_sha = true) {
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.push_back(by_sha ? "EVALSHA" : "EVAL");
  cmd.push_back(by_sha ? s.sha : s.source);
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto* sp = &s;
  call(self, std::move(cmd),
       [self, sp, by_sha, keys = std::move(keys), args = std::move(args),
        k = std::move(k)](redis_reply r) mutable {
         // A server that has not seen the script yet (a restart, a new
         // master) runs it from its source, and knows it by its SHA after.
         if (by_sha && r.is_error() && r.str.starts_with("NOSCRIPT")) {
           run_script(self, *sp, std::move(keys), std::move(args), std::move(k), false);
           return;
         }
         k(std::move(r));
       });
}

chat_message from_entry(const std::string& room, const redis_reply& entry) {
  chat_message msg;
  msg.room = room;
  if (entry.elements.size() < 2)
    return msg;
  if (auto id = message_id::parse(entry.elements[0].str))
    msg.id = *id;
  msg.ts = static_cast<std::int64_t>(msg.id.ms);
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const auto& f = fields[i].str;
    if (f == "u")
      msg.user = fields[i + 1].str;
    else if (f == "t")
      msg.text = fields[i + 1].str;
    else if (f == "c")
      msg.cid = fields[i + 1].str;
  }
  return msg;
}

stored_message to_stored(const std::string& room, const redis_reply& entry) {
  auto msg = from_entry(room, entry);
  return {msg.id, make_frame(encode_message(msg))};
}

// -- rooms ----------------------------------------------------------------------

/// The room a channel carries, while this node has members there.
const std::string* room_of_channel(const bridge_state& st, const std::string& channel) {
  auto it = st.channel_rooms.find(channel);
  return it == st.channel_rooms.end() ? nullptr : &it->second;
}

/// The channel carries nothing until subscribed again, then the stream is
/// read back from the last message handed on.
void lose_subscription(room_link& r) {
  r.subscribed = false;
  r.needs_catch_up = true;
}

/// Hands a message to the hub unless it already has it.
void deliver_new(bridge_actor* self, const std::string& room, room_link& r, stored_message msg) {
  if (r.last && msg.id <= *r.last)
    return;
  r.last = msg.id;
  self->send(r.hub, deliver_atom::value, room, std::move(msg));
}

/// The names in a room's members hash, whose fields are "<node>\n<name>".
std::vector<std::string> distinct_names(const redis_reply& fields) {
  std::set<std::string> names;
  for (const auto& field : fields.elements)
    if (auto nl = field.str.find('\n'); nl != std::string::npos)
      names.insert(field.str.substr(nl + 1));
  return {names.begin(), names.end()};
}

void answer_snapshot(bridge_actor* self, const std::string& room, waiting_query w) {
  std::vector<std::string> args{w.query.since ? w.query.since->to_string() : std::string{},
                                std::to_string(w.query.limit)};
  auto& st = self->state;
  run_script(self, st.snapshot,
             {st.key(room, "log"), st.key(room, "members"), st.key(room, "pver"), st.key(room, "nodes")},
             std::move(args), [room, w](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 4) {
                 w.promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               room_snapshot snap;
               for (const auto& entry : r.elements[0].elements)
                 snap.history.messages.push_back(to_stored(room, entry));
               if (!w.query.since) // newest first from XREVRANGE
                 std::reverse(snap.history.messages.begin(), snap.history.messages.end());
               snap.history.more = r.elements[3].integer != 0;
               snap.members = distinct_names(r.elements[1]);
               snap.presence_version = std::strtoull(r.elements[2].str.c_str(), nullptr, 10);
               w.promise.deliver(std::move(snap));
             });
}

void finish_catch_up(bridge_actor* self, const std::string& room);

/// Reads from the stream what came after the last message handed to the
/// hub; live messages wait meanwhile. Retried when it cannot run now.
void catch_up(bridge_actor* self, const std::string& room) {
  auto& st = self->state;
  auto it = st.rooms.find(room);
  if (it == st.rooms.end())
    return;
  auto& r = it->second;
  if (!st.command_up || !r.subscribed || r.catching_up || !r.needs_catch_up)
    return;
  r.catching_up = true;
  r.needs_catch_up = false;
  auto on_error = [self, room] {
    if (auto it = self->state.rooms.find(room); it != self->state.rooms.end()) {
      it->second.catching_up = false;
      it->second.needs_catch_up = true;
    }
  };
  if (!r.last) {
    // First subscription: from now on the channel brings everything.
    call(self, {"XREVRANGE", st.key(room, "log"), "+", "-", "COUNT", "1"},
         [self, room, on_error](redis_reply reply) {
           auto it = self->state.rooms.find(room);
           if (it == self->state.rooms.end())
             return;
           if (reply.type != redis_reply::kind::array)
             return on_error();
           it->second.last = reply.elements.empty()
                               ? message_id{0, 0}
                               : message_id::parse(reply.elements[0].elements[0].str).value_or(message_id{});
           finish_catch_up(self, room);
         });
    return;
  }
  call(
    self,
    {"XRANGE", st.key(room, "log"), "(" + r.last->to_string(), "+", "COUNT", std::to_string(catch_up_batch)},
    [self, room, on_error](redis_reply reply) {
      auto it = self->state.rooms.find(room);
      if (it == self->state.rooms.end())
        return;
      if (reply.type != redis_reply::kind::array)
        return on_error();
      for (const auto& entry : reply.elements) {
        stats().redis_replayed.fetch_add(1, std::memory_order_relaxed);
        deliver_new(self, room, it->second, to_stored(room, entry));
      }
      if (reply.elements.size() == catch_up_batch) {
        it->second.catching_up = false;
        it->second.needs_catch_up = true;
        catch_up(self, room); // more to read
        return;
      }
      finish_catch_up(self, room);
    });
}

void finish_catch_up(bridge_actor* self, const std::string& room) {
  auto it = self->state.rooms.find(room);
  if (it == self->state.rooms.end())
    return;
  auto& r = it->second;
  r.catching_up = false;
  auto held = std::move(r.held);
  r.held.clear();
  for (auto& msg : held)
    deliver_new(self, room, r, std::move(msg));
  if (r.needs_catch_up) {
    catch_up(self, room); // the held list overflowed meanwhile
    return;
  }
  auto waiting = std::move(r.waiting);
  r.waiting.clear();
  for (auto& w : waiting)
    answer_snapshot(self, room, std::move(w));
}

/// Tells Redis whether a name is here; a failure leaves the room for the
/// next full sync.
void send_presence(bridge_actor* self, const std::string& room, const std::string& name, bool present) {
  auto& st = self->state;
  run_script(self, st.presence, st.presence_keys(room),
             {st.settings.node, name, present ? "1" : "0", room, st.settings.incarnation, st.ttl_ms(),
              st.publish_command()},
             [self, room, name, present](redis_reply r) {
               auto& st = self->state;
               if (r.is_error()) {
                 st.unsynced_rooms.insert(room);
                 return;
               }
               // An absence Redis has confirmed needs no more care.
               auto nit = st.names.find(room);
               if (present || nit == st.names.end())
                 return;
               if (auto it = nit->second.find(name); it != nit->second.end() && !it->second)
                 nit->second.erase(it);
               if (nit->second.empty())
                 st.names.erase(nit);
             });
}

/// Sends every name of a room again, after Redis may have lost them.
void sync_presence(bridge_actor* self, const std::string& room) {
  auto& st = self->state;
  auto nit = st.names.find(room);
  if (nit == st.names.end() || !st.command_up)
    return;
  st.unsynced_rooms.erase(room);
  auto names = nit->second;
  for (const auto& [name, present] : names)
    send_presence(self, room, name, present);
}

/// Sends the names of every room Redis has not confirmed.
void sync_unsynced(bridge_actor* self) {
  auto unsynced = self->state.unsynced_rooms; // sync_presence erases from it
  for (const auto& room : unsynced)
    sync_presence(self, room);
}

/// Asks the hubs of rooms whose presence events may have been lost to
/// compare what their members were told with Redis, once Redis can answer.
void send_resyncs(bridge_actor* self) {
  auto& st = self->state;
  if (!st.command_up)
    return;
  for (auto& [room, r] : st.rooms)
    if (std::exchange(r.resync_due, false))
      self->send(r.hub, resync_atom::value, room);
}

/// This node's presence heartbeat in one room. When Redis did not take the
/// node for live there (its entry expired, the node was started again, or
/// Redis lost its data), other nodes may have removed its members: it tells
/// Redis its names again, and the hub compares what its members were told.
void refresh_room(bridge_actor* self, const std::string& room) {
  auto& st = self->state;
  run_script(self, st.refresh, st.presence_keys(room),
             {st.settings.node, st.settings.incarnation, st.ttl_ms(), room, st.publish_command()},
             [self, room](redis_reply r) {
               if (r.type != redis_reply::kind::array || r.elements.empty() || r.elements[0].integer != 0)
                 return;
               auto& st = self->state;
               sync_presence(self, room);
               if (auto it = st.rooms.find(room); it != st.rooms.end()) {
                 it->second.resync_due = true;
                 send_resyncs(self);
               }
             });
}

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

void expire_waiting(bridge_actor* self) {
  auto now = clock::now();
  for (auto& [room, r] : self->state.rooms) {
    auto late = std::stable_partition(r.waiting.begin(), r.waiting.end(), [&](const waiting_query& w) {
      return now - w.since < self->state.settings.query_timeout;
    });
    for (auto it = late; it != r.waiting.end(); ++it)
      it->promise.deliver(caf::make_error(caf::sec::request_timeout, "redis did not answer in time"));
    r.waiting.erase(late, r.waiting.end());
  }
}

void on_link(bridge_actor* self, int link, bool up, const std::string& reason) {
  auto& st = self->state;
  if (link == command_link) {
    if (st.command_up && !up)
      stats().redis_reconnects.fetch_add(1, std::memory_order_relaxed);
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

void on_published(bridge_actor* self, const std::string& channel, const std::string& payload) {
  auto& st = self->state;
  auto cit = st.channel_rooms.find(channel);
  if (cit == st.channel_rooms.end() || payload.size() < 2)
    return;
  const auto& room = cit->second;
  auto& r = st.rooms[room];
  auto nl = payload.find('\n');
  if (nl == std::string::npos)
    return;
  std::string_view head{payload.data() + 1, nl - 1};
  switch (payload[0]) {
    case 'm': { // m<id>\n<frame>
      auto id = message_id::parse(head);
      if (!id)
        return;
      stored_message msg{*id, make_frame(payload.substr(nl + 1)), steady_now_ns()};
      if (r.catching_up || r.needs_catch_up || !r.subscribed) {
        if (r.held.size() < max_held)
          r.held.push_back(std::move(msg));
        else
          r.needs_catch_up = true; // the stream still has it
        return;
      }
      deliver_new(self, room, r, std::move(msg));
      break;
    }
    case 't': { // t<session>\n<user>
      self->send(r.hub, typing_atom::value, room, payload.substr(nl + 1), std::string{head});
      break;
    }
    case 'p': { // p<version>\n<user>\n<frame>
      auto nl2 = payload.find('\n', nl + 1);
      if (nl2 == std::string::npos)
        return;
      auto frame = payload.substr(nl2 + 1);
      auto fields = nlohmann::json::parse(frame, nullptr, false);
      auto kind = fields.is_object() ? fields.find("event") : fields.end();
      if (kind == fields.end())
        return;
      presence_event event{std::strtoull(std::string{head}.c_str(), nullptr, 10),
                           payload.substr(nl + 1, nl2 - nl - 1), *kind == "join",
                           make_frame(std::move(frame))};
      self->send(r.hub, presence_atom::value, room, std::move(event));
      break;
    }
  }
}

// -- the actor ------------------------------------------------------------------

caf::behavior redis_bridge(bridge_actor* self, std::shared_ptr<redis_port> commands,
                           std::shared_ptr<redis_port> subscriber, redis_bridge_settings settings) {
  auto& st = self->state;
  st.commands = std::move(commands);
  st.subscriber = std::move(subscriber);
  st.settings = std::move(settings);
  publish_status(self);
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
      stats().redis_rtt.observe(std::chrono::duration<double>(clock::now() - started).count());
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
    [self](published_atom, const std::string& channel, const std::string& payload) {
      on_published(self, channel, payload);
    },
    [self, tick](tick_atom) {
      heartbeat(self);
      expire_waiting(self);
      self->delayed_send(self, tick, tick_atom::value);
    },
    [self](subscribe_atom, const std::string& room, const caf::actor& hub) {
      auto& st = self->state;
      auto [it, created] = st.rooms.try_emplace(room);
      it->second.hub = hub;
      if (created) {
        st.channel_rooms[st.channel(room)] = room;
        st.subscriber->subscribe({st.channel(room)});
      }
    },
    [self](unsubscribe_atom, const std::string& room, const caf::actor&) {
      auto& st = self->state;
      auto it = st.rooms.find(room);
      if (it == st.rooms.end())
        return;
      for (auto& w : it->second.waiting)
        w.promise.deliver(caf::make_error(caf::sec::runtime_error, "room closed"));
      st.rooms.erase(it);
      st.channel_rooms.erase(st.channel(room));
      st.subscriber->unsubscribe({st.channel(room)});
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
      auto& st = self->state;
      auto promise = self->make_response_promise();
      // The snapshot script without history: only its members and version.
      run_script(self, st.snapshot,
                 {st.key(room, "log"), st.key(room, "members"), st.key(room, "pver"), st.key(room, "nodes")},
                 {std::string{}, "0"}, [promise](redis_reply r) mutable {
                   if (r.type != redis_reply::kind::array || r.elements.size() < 4) {
                     promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                     return;
                   }
                   promise.deliver(presence_snapshot{distinct_names(r.elements[1]),
                                                     std::strtoull(r.elements[2].str.c_str(), nullptr, 10)});
                 });
      return caf::delegated<presence_snapshot>{};
    },
    [self](history_atom, const history_query& query) -> caf::result<message_page> {
      auto& st = self->state;
      auto promise = self->make_response_promise();
      auto upper = query.before ? "(" + query.before->to_string() : std::string{"+"};
      call(self,
           {"XREVRANGE", st.key(query.room, "log"), upper, "-", "COUNT", std::to_string(query.limit + 1)},
           [promise, query](redis_reply r) mutable {
             if (r.type != redis_reply::kind::array) {
               promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
               return;
             }
             message_page page;
             page.more = r.elements.size() > query.limit;
             for (std::size_t i = 0; i < std::min(query.limit, r.elements.size()); ++i)
               page.messages.push_back(to_stored(query.room, r.elements[i]));
             std::reverse(page.messages.begin(), page.messages.end());
             promise.deliver(std::move(page));
           });
      return caf::delegated<message_page>{};
    },
    [self](store_atom, const std::string& room, const std::string& user, const std::string& text,
           const std::string& cid) -> caf::result<store_result> {
      auto& st = self->state;
      auto promise = self->make_response_promise();
      auto t = encode_message_template(room, user, text, cid);
      run_script(
        self, st.store, {st.key(room, "log"), st.key(room, "cids"), st.channel(room)},
        {user, text, cid, std::to_string(st.settings.retention), t.head, t.middle, t.tail,
         std::to_string(std::chrono::milliseconds{st.settings.cid_ttl}.count()), st.publish_command()},
        [promise, room](redis_reply r) mutable {
          if (r.type != redis_reply::kind::array || r.elements.size() < 3) {
            promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
            return;
          }
          auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
          if (r.elements[0].str == "new") {
            stats().messages_stored.fetch_add(1, std::memory_order_relaxed);
            promise.deliver(store_result{{id, make_frame(r.elements[2].str)}, false});
            return;
          }
          redis_reply entry;
          entry.type = redis_reply::kind::array;
          entry.elements = {r.elements[1], r.elements[2]};
          promise.deliver(store_result{to_stored(room, entry), true});
        });
      return caf::delegated<store_result>{};
    },
    [self](typing_atom, const std::string& room, const std::string& user, const std::string& session) {
      auto& st = self->state;
      if (st.command_up)
        call(self, {st.publish_command(), st.channel(room), "t" + session + "\n" + user}, [](redis_reply) {});
    },
    [self](member_atom, const std::string& room, const std::string& name, bool present) {
      auto& st = self->state;
      st.names[room][name] = present;
      if (st.command_up)
        send_presence(self, room, name, present);
      else
        st.unsynced_rooms.insert(room);
    },
  };
}

} // namespace

caf::actor spawn_redis_bridge(caf::actor_system& sys, std::shared_ptr<redis_port> commands,
                              std::shared_ptr<redis_port> subscriber, redis_bridge_settings settings) {
  if (settings.incarnation.empty()) {
    std::random_device random;
    std::uint64_t value =
      (std::uint64_t{random()} << 32) ^ random() ^
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    settings.incarnation = text;
  }
  return sys.spawn(redis_bridge, std::move(commands), std::move(subscriber), std::move(settings));
}

redis_events forward_redis_events(std::shared_ptr<caf::actor> bridge, int link) {
  redis_events events;
  events.up = [bridge, link] { caf::anon_send(*bridge, link_atom::value, link, true, std::string{}); };
  events.down = [bridge, link](const std::string& reason) {
    caf::anon_send(*bridge, link_atom::value, link, false, reason);
  };
  events.subscribed = [bridge](const std::string& channel) {
    caf::anon_send(*bridge, channel_atom::value, channel);
  };
  events.unsubscribed = [bridge](const std::string& channel) {
    caf::anon_send(*bridge, unsubscribed_atom::value, channel);
  };
  events.message = [bridge](const std::string& channel, std::string payload) {
    caf::anon_send(*bridge, published_atom::value, channel, std::move(payload));
  };
  return events;
}

} // namespace chatnode

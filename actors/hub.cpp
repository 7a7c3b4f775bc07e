#include "actors/hub.hpp"

#include "actors/messages.hpp"
#include "actors/protocol.hpp"
#include "actors/stats.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <vector>

namespace chatnode {

namespace {

/// A session in a room. Until the bus answers its history query it is
/// pending: live messages for it are held back so none comes before its
/// `joined` and none is lost.
struct member {
  std::string session;
  std::string name;
  sink_ptr sink;
  bool pending = true;
  std::vector<std::pair<message_id, frame_ptr>> held;
  /// The newest message this member has: anything not newer is a duplicate
  /// (a bus may deliver a message that the member's history already held).
  std::optional<message_id> last;

  bool deliver(const message_id& id, const frame_ptr& frame) {
    if (last && id <= *last)
      return false;
    last = id;
    sink->send(frame);
    return true;
  }
};

struct room_state {
  std::vector<member> members;
  std::map<std::string, std::size_t> names; ///< distinct names -> sessions using them

  member* find(const std::string& session) {
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const member& m) { return m.session == session; });
    return it == members.end() ? nullptr : &*it;
  }

  std::vector<std::string> member_names() const {
    std::vector<std::string> result;
    result.reserve(names.size());
    for (const auto& [name, count] : names)
      result.push_back(name);
    return result;
  }

  /// Sends to every member that has its `joined`, except `skip`.
  std::size_t broadcast(const frame_ptr& frame, const std::string& skip = {}) {
    std::size_t sent = 0;
    for (auto& m : members) {
      if (m.pending || m.session == skip)
        continue;
      m.sink->send(frame);
      ++sent;
    }
    return sent;
  }
};

struct hub_state {
  caf::actor bus;
  std::unordered_map<std::string, room_state> rooms;

  void update_gauge() const {
    stats().rooms.store(static_cast<std::int64_t>(rooms.size()), std::memory_order_relaxed);
  }

  static inline const char* name = "hub";
};

using hub_actor = caf::stateful_actor<hub_state>;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Removes a session from a room; announces the leave when its name is gone.
void remove_member(hub_actor* self, const std::string& room_name, const std::string& session) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto& room = rit->second;
  auto it = std::find_if(room.members.begin(), room.members.end(),
                         [&](const member& m) { return m.session == session; });
  if (it == room.members.end())
    return;
  auto name = std::move(it->name);
  room.members.erase(it);
  if (--room.names[name] == 0) {
    room.names.erase(name);
    auto frame = make_frame(encode_presence(room_name, name, false, room.names.size()));
    stats().messages_out.fetch_add(room.broadcast(frame), std::memory_order_relaxed);
  }
  if (room.members.empty()) {
    self->state.rooms.erase(rit);
    self->send(self->state.bus, unsubscribe_atom::value, room_name, caf::actor{self});
    self->state.update_gauge();
  }
}

/// The bus answered a member's history query: send `joined`, then what was
/// held back, skipping what the history already holds.
void complete_join(hub_actor* self, const std::string& room_name, const std::string& session,
                   std::optional<message_id> since, const message_page& history) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto* m = rit->second.find(session);
  if (m == nullptr || !m->pending)
    return; // left, or re-joined, meanwhile
  m->pending = false;
  m->sink->send(make_frame(encode_joined(room_name, rit->second.member_names(), history)));
  m->last = history.messages.empty() ? since : std::optional{history.messages.back().id};
  std::size_t sent = 1;
  for (auto& [id, frame] : m->held)
    sent += m->deliver(id, frame);
  m->held.clear();
  m->held.shrink_to_fit();
  stats().messages_out.fetch_add(sent, std::memory_order_relaxed);
}

void handle_join(hub_actor* self, join_request& req) {
  auto [rit, created] = self->state.rooms.try_emplace(req.room);
  auto& room = rit->second;
  if (created) {
    self->send(self->state.bus, subscribe_atom::value, req.room, caf::actor{self});
    self->state.update_gauge();
  }
  if (auto* old = room.find(req.session)) {
    // A re-join: the same session asks for a fresh `joined`.
    if (old->name == req.name) {
      old->pending = true;
      old->held.clear();
      old->last.reset();
      old->sink = req.sink;
    } else {
      remove_member(self, req.room, req.session);
      handle_join(self, req);
      return;
    }
  } else {
    room.members.push_back(member{req.session, req.name, req.sink, true, {}, std::nullopt});
    if (room.names[req.name]++ == 0 && room.members.size() > 1) {
      auto frame = make_frame(encode_presence(req.room, req.name, true, room.names.size()));
      stats().messages_out.fetch_add(room.broadcast(frame), std::memory_order_relaxed);
    }
  }
  auto room_name = req.room;
  auto session = req.session;
  auto since = req.since;
  self->request(self->state.bus, caf::infinite, recent_atom::value,
                recent_query{req.room, req.since, req.page_size})
    .then(
      [self, room_name, session, since](const message_page& history) {
        complete_join(self, room_name, session, since, history);
      },
      [self, room_name, session](const caf::error&) {
        auto rit = self->state.rooms.find(room_name);
        if (rit == self->state.rooms.end())
          return;
        if (auto* m = rit->second.find(session)) {
          stats().count_error(error_code::unavailable);
          m->sink->send(make_frame(encode_error(error_code::unavailable, "history is unavailable")));
          remove_member(self, room_name, session);
        }
      });
}

void deliver(hub_actor* self, const std::string& room, const stored_message& msg) {
  auto rit = self->state.rooms.find(room);
  if (rit == self->state.rooms.end())
    return;
  std::size_t sent = 0;
  for (auto& m : rit->second.members) {
    if (m.pending)
      m.held.emplace_back(msg.id, msg.frame);
    else
      sent += m.deliver(msg.id, msg.frame);
  }
  stats().messages_out.fetch_add(sent, std::memory_order_relaxed);
  // The id's ms part is when the message was stored.
  auto latency_ms = std::max<std::int64_t>(now_ms() - static_cast<std::int64_t>(msg.id.ms), 0);
  stats().fanout_latency.observe(static_cast<double>(latency_ms) / 1000.0);
}

caf::behavior hub(hub_actor* self, caf::actor bus) {
  self->state.bus = std::move(bus);
  return {
    [self](enter_atom, join_request& req) { handle_join(self, req); },
    [self](leave_atom, const std::string& room, const std::string& session) {
      remove_member(self, room, session);
    },
    [self](deliver_atom, const std::string& room, const stored_message& msg) {
      deliver(self, room, msg);
    },
    [self](typing_atom, const std::string& room, const std::string& user,
           const std::string& session) {
      auto rit = self->state.rooms.find(room);
      if (rit == self->state.rooms.end())
        return;
      auto frame = make_frame(encode_typing(room, user));
      stats().messages_out.fetch_add(rit->second.broadcast(frame, session),
                                     std::memory_order_relaxed);
    },
  };
}

} // namespace

caf::actor spawn_hub(caf::actor_system& sys, caf::actor bus) {
  return sys.spawn(hub, std::move(bus));
}

} // namespace chatnode

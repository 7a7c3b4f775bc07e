#include "actors/hub.hpp"

#include "actors/messages.hpp"
#include "actors/protocol.hpp"
#include "actors/stats.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <vector>

namespace chatnode {

namespace {

/// A session in a room. Until the bus answers its snapshot query it is
/// pending: live events for it are held back, so none comes before its
/// `joined` and none is lost; afterwards what the snapshot held is dropped.
struct member {
  std::string session;
  std::string name;
  sink_ptr sink;
  bool pending = true;
  std::vector<stored_message> held_messages;
  std::vector<presence_event> held_presence;
  /// The newest message this member has: anything not newer is a duplicate
  /// (a bus may deliver a message that the member's history already held).
  std::optional<message_id> last_message;
  std::uint64_t presence_version = 0;

  void deliver(const stored_message& msg) {
    if (last_message && msg.id <= *last_message)
      return;
    last_message = msg.id;
    sink->send(msg.frame, msg.received_ns);
  }

  void deliver(const presence_event& event) {
    // Members know they are there themselves; the snapshot covers the rest.
    if (event.version <= presence_version || event.user == name)
      return;
    presence_version = event.version;
    sink->send(event.frame);
  }
};

struct room_state {
  std::vector<member> members;
  std::map<std::string, std::size_t> names; ///< local sessions per name

  member* find(const std::string& session) {
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const member& m) { return m.session == session; });
    return it == members.end() ? nullptr : &*it;
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

/// Removes a session from a room; the bus hears when its name is gone here.
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
    self->send(self->state.bus, member_atom::value, room_name, name, false);
  }
  if (room.members.empty()) {
    self->state.rooms.erase(rit);
    self->send(self->state.bus, unsubscribe_atom::value, room_name, caf::actor{self});
    self->state.update_gauge();
  }
}

/// The bus answered a member's snapshot query: send `joined`, then what was
/// held back and is newer than the snapshot.
void complete_join(hub_actor* self, const std::string& room_name, const std::string& session,
                   std::optional<message_id> since, const room_snapshot& snapshot) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto* m = rit->second.find(session);
  if (m == nullptr || !m->pending)
    return; // left, or re-joined, meanwhile
  m->pending = false;
  m->sink->send(make_frame(encode_joined(room_name, snapshot.members, snapshot.history)));
  const auto& history = snapshot.history.messages;
  m->last_message = history.empty() ? since : std::optional{history.back().id};
  m->presence_version = snapshot.presence_version;
  for (auto& msg : m->held_messages)
    m->deliver(msg);
  for (auto& event : m->held_presence)
    m->deliver(event);
  m->held_messages = {};
  m->held_presence = {};
}

void handle_join(hub_actor* self, join_request& req) {
  auto [rit, created] = self->state.rooms.try_emplace(req.room);
  auto& room = rit->second;
  if (created) {
    self->send(self->state.bus, subscribe_atom::value, req.room, caf::actor{self});
    self->state.update_gauge();
  }
  if (auto* old = room.find(req.session)) {
    if (old->name != req.name) {
      remove_member(self, req.room, req.session);
      handle_join(self, req);
      return;
    }
    // A re-join under the same name: a fresh `joined`, no presence change.
    *old = member{req.session, req.name, req.sink, true, {}, {}, std::nullopt, 0};
  } else {
    room.members.push_back(member{req.session, req.name, req.sink, true, {}, {}, std::nullopt, 0});
    if (room.names[req.name]++ == 0)
      self->send(self->state.bus, member_atom::value, req.room, req.name, true);
  }
  // Sent after member_atom, so the snapshot counts this member in.
  auto room_name = req.room;
  auto session = req.session;
  auto since = req.since;
  self->request(self->state.bus, caf::infinite, recent_atom::value,
                recent_query{req.room, req.since, req.page_size})
    .then(
      [self, room_name, session, since](const room_snapshot& snapshot) {
        complete_join(self, room_name, session, since, snapshot);
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
  for (auto& m : rit->second.members) {
    if (m.pending)
      m.held_messages.push_back(msg);
    else
      m.deliver(msg);
  }
}

void announce(hub_actor* self, const std::string& room, const presence_event& event) {
  auto rit = self->state.rooms.find(room);
  if (rit == self->state.rooms.end())
    return;
  for (auto& m : rit->second.members) {
    if (m.pending)
      m.held_presence.push_back(event);
    else
      m.deliver(event);
  }
}

void relay_typing(hub_actor* self, const std::string& room, const std::string& user,
                  const std::string& session) {
  auto rit = self->state.rooms.find(room);
  if (rit == self->state.rooms.end())
    return;
  auto frame = make_frame(encode_typing(room, user));
  for (auto& m : rit->second.members)
    if (!m.pending && m.session != session)
      m.sink->send(frame);
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
    [self](presence_atom, const std::string& room, const presence_event& event) {
      announce(self, room, event);
    },
    [self](typing_atom, const std::string& room, const std::string& user,
           const std::string& session) { relay_typing(self, room, user, session); },
  };
}

} // namespace

caf::actor spawn_hub(caf::actor_system& sys, caf::actor bus) {
  return sys.spawn(hub, std::move(bus));
}

} // namespace chatnode

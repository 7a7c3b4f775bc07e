#include "actors/chat/hub.hpp"

#include "actors/contracts/interfaces.hpp"
#include "actors/wire/protocol.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/chat/hub_room.hpp"
#include "actors/chat/presence_batches.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <vector>

namespace chatnode {

namespace {

constexpr std::size_t max_held_pages = 4; ///< `members` requests a member may make before its `joined`

struct hub_state {
  // Not an aggregate: CAF asks whether the state can be made from the actor
  // pointer, and a typed handle as first member would say yes, wrongly.
  hub_state() = default;

  hub_bus bus;
  stats_ptr stats;
  hub_settings settings;
  std::unordered_map<std::string, room_state> rooms;
  std::uint64_t next_generation = 1;

  /// The room of that name, if it is still the one with that generation.
  room_state* room(const std::string& name, std::uint64_t generation) {
    auto it = rooms.find(name);
    return it == rooms.end() || it->second.generation != generation ? nullptr : &it->second;
  }

  void update_gauge() const {
    stats->rooms.store(static_cast<std::int64_t>(rooms.size()), std::memory_order_relaxed);
  }

  static inline const char* name = "hub";
};

using hub_self = hub_actor::stateful_pointer<hub_state>;

/// Removes a session from a room; the bus hears when its name is gone here.
void remove_member(hub_self self, const std::string& room_name, const std::string& session) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto& room = rit->second;
  auto it = std::find_if(room.members.begin(), room.members.end(),
                         [&](const room_member& m) { return m.session == session; });
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
    self->send(self->state.bus, unsubscribe_atom::value, room_name, caf::actor_cast<hub_actor>(self));
    self->state.update_gauge();
  }
}

void ask_who(hub_self self, const std::string& room_name);

/// Times the next batch of a big room's presence changes.
void schedule_flush(hub_self self, const std::string& room_name, room_state& room) {
  if (std::exchange(room.flush_due, true))
    return;
  auto members = std::max(room.presence.names().size(), room.told.count());
  self->delayed_send(caf::actor_cast<hub_actor>(self), batch_interval_for(self->state.settings, members),
                     flush_atom::value, room_name, room.generation);
}

/// Tells the members that someone came or went (presence_batches.hpp),
/// timing a batch when the change waits for one.
void tell_change(hub_self self, const std::string& room_name, room_state& room, const std::string& user,
                 bool present, const frame_ptr& frame = nullptr, std::size_t frame_count = 0) {
  if (tell_or_batch(room, room_name, user, present, frame, frame_count, self->state.settings.big_room))
    schedule_flush(self, room_name, room);
}

/// A big room's batch is due.
void flush_presence(hub_self self, const std::string& room_name, std::uint64_t generation) {
  auto* room = self->state.room(room_name, generation);
  if (room == nullptr)
    return;
  room->flush_due = false;
  if (send_batch(*room, room_name, self->state.settings.big_room))
    self->state.stats->presence_batches.fetch_add(1, std::memory_order_relaxed);
}

/// A session asked for a page of a room's members; one that has not had its
/// `joined` yet gets it after.
void answer_members(hub_self self, const std::string& room_name, const members_query& query) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto* m = rit->second.find(query.session);
  if (m == nullptr)
    return; // left meanwhile
  if (!m->pending) {
    send_members(room_name, rit->second, *m, query, self->state.settings.big_room);
  } else if (m->held_pages.size() < max_held_pages) {
    m->held_pages.push_back(query);
  } else {
    self->state.stats->count_error(error_code::rate_limited);
    m->sink->send(make_frame(encode_error(error_code::rate_limited, "too many member pages before joined")));
  }
}

/// Applies one presence event to the room's view, in version order.
void apply_presence(hub_self self, const std::string& room_name, room_state& room,
                    const presence_event& event) {
  auto applied = room.presence.apply(event);
  if (applied.changed)
    tell_change(self, room_name, room, event.user, event.present, event.frame, event.count);
  if (applied.gap)
    ask_who(self, room_name);
}

/// A presence event from the bus.
void announce(hub_self self, const std::string& room_name, const presence_event& event) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto& room = rit->second;
  if (!room.presence.known())
    room.presence.hold_early(event); // applied after the first snapshot
  else
    apply_presence(self, room_name, room, event);
}

/// The bus said who is in the room: tell the members what differs from the
/// view, as the presence events they missed would have.
void reconcile(hub_self self, const std::string& room_name, std::uint64_t generation,
               const presence_snapshot& truth) {
  auto* room = self->state.room(room_name, generation);
  if (room == nullptr)
    return; // the room was left (and maybe entered again) meanwhile
  auto changes = room->presence.reconcile(truth);
  if (changes.corrected)
    self->state.stats->presence_resyncs.fetch_add(1, std::memory_order_relaxed);
  // Told with the view's final size, as their presence events would have been.
  for (const auto& name : changes.came)
    tell_change(self, room_name, *room, name, true);
  for (const auto& name : changes.went)
    tell_change(self, room_name, *room, name, false);
  if (room->presence.take_ask_again())
    ask_who(self, room_name);
}

/// Asks the bus who is in the room; one query at a time, and a request that
/// comes while one is out is asked again after its answer.
void ask_who(hub_self self, const std::string& room_name) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end() || !rit->second.presence.begin_asking())
    return;
  auto generation = rit->second.generation;
  self->request(self->state.bus, caf::infinite, who_atom::value, room_name)
    .then([self, room_name,
           generation](const presence_snapshot& truth) { reconcile(self, room_name, generation, truth); },
          [self, room_name, generation](const caf::error&) {
            // The bus sends resync_atom once it can answer again.
            if (auto* room = self->state.room(room_name, generation))
              room->presence.abandon_asking();
          });
}

/// The first member's snapshot sets the room's presence view; the events
/// that came before it follow.
void start_presence(hub_self self, const std::string& room_name, room_state& room,
                    const room_snapshot& snapshot) {
  auto early = room.presence.start(snapshot.members, snapshot.presence_version);
  for (const auto& name : room.presence.names()) // no member here was told anything yet
    room.told.apply(name, true);
  for (const auto& event : early)
    apply_presence(self, room_name, room, event);
  if (room.presence.take_ask_again())
    ask_who(self, room_name);
}

/// The bus answered a member's snapshot query: send `joined`, then the
/// messages held back that are newer than the snapshot.
void complete_join(hub_self self, const std::string& room_name, const std::string& session,
                   std::optional<message_id> since, const room_snapshot& snapshot) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  auto& room = rit->second;
  auto* m = room.find(session);
  if (m == nullptr || !m->pending)
    return; // left, or re-joined, meanwhile
  if (!room.presence.known())
    start_presence(self, room_name, room, snapshot);
  // What the members here were told, so that later changes and batches
  // apply to it; the first page of it in a big room.
  auto page = room.told.page(std::nullopt, self->state.settings.big_room);
  if (!room.told.contains(m->name))
    add_own_name(page, std::nullopt, m->name); // its own join may still be on its way
  m->window = {page.more ? member_window::reach::first_page : member_window::reach::given_all, {}};
  m->pending = false;
  m->sink->send(
    make_frame(encode_joined(room_name, page.names, snapshot.history,
                             {snapshot.read, snapshot.unread, m->peer, m->role, page.count, page.more})));
  // A resuming member applies the changes after `since` to what it has.
  for (const auto& change : snapshot.changes)
    m->sink->send(change.frame);
  const auto& history = snapshot.history.messages;
  m->last_message = history.empty() ? since : std::optional{history.back().id};
  if (!snapshot.changes.empty())
    m->last_message = std::max(m->last_message.value_or(message_id{}), snapshot.changes.back().id);
  for (auto& msg : m->held_messages)
    m->deliver(msg);
  m->held_messages = {};
  for (const auto& query : std::exchange(m->held_pages, {}))
    send_members(room_name, room, *m, query, self->state.settings.big_room);
}

/// A member as it enters: pending until the bus answers its snapshot query.
room_member entering(const join_request& req) {
  return room_member{.session = req.session,
                     .name = req.name,
                     .sink = req.sink,
                     .owner = req.owner,
                     .peer = req.peer,
                     .role = req.role};
}

void handle_join(hub_self self, join_request& req) {
  auto [rit, created] = self->state.rooms.try_emplace(req.room);
  auto& room = rit->second;
  if (created) {
    room.generation = self->state.next_generation++;
    self->send(self->state.bus, subscribe_atom::value, req.room, caf::actor_cast<hub_actor>(self));
    self->state.update_gauge();
  }
  if (auto* old = room.find(req.session)) {
    if (old->name != req.name) {
      remove_member(self, req.room, req.session);
      handle_join(self, req);
      return;
    }
    // A re-join under the same name: a fresh `joined`, no presence change.
    *old = entering(req);
  } else {
    room.members.push_back(entering(req));
    if (room.names[req.name]++ == 0)
      self->send(self->state.bus, member_atom::value, req.room, req.name, true);
  }
  // Sent after member_atom, so the snapshot counts this member in.
  auto room_name = req.room;
  auto session = req.session;
  auto since = req.since;
  self
    ->request(self->state.bus, caf::infinite, recent_atom::value,
              recent_query{req.room, req.since, req.page_size, req.name, !room.presence.known()})
    .then([self, room_name, session, since](
            const room_snapshot& snapshot) { complete_join(self, room_name, session, since, snapshot); },
          [self, room_name, session, cid = req.cid](const caf::error&) {
            auto rit = self->state.rooms.find(room_name);
            if (rit == self->state.rooms.end())
              return;
            if (auto* m = rit->second.find(session)) {
              self->state.stats->count_error(error_code::unavailable);
              m->sink->send(make_frame(
                encode_error(error_code::unavailable, "the room is unavailable; join again later", cid)));
              remove_member(self, room_name, session);
            }
          });
}

void deliver(hub_self self, const std::string& room, const stored_message& msg) {
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

/// A user's read position moved: each of their joined sessions here hears it.
void tell_reader(hub_self self, const std::string& room, const read_notice& notice) {
  auto rit = self->state.rooms.find(room);
  if (rit == self->state.rooms.end())
    return;
  for (auto& m : rit->second.members)
    if (!m.pending && m.name == notice.user)
      m.sink->send(notice.frame);
}

/// A user is put out of a room: each of their sessions here leaves it and
/// hears why.
void kick(hub_self self, const std::string& room_name, const kick_notice& notice) {
  auto rit = self->state.rooms.find(room_name);
  if (rit == self->state.rooms.end())
    return;
  std::vector<std::string> sessions;
  for (auto& m : rit->second.members) {
    if (m.name != notice.user)
      continue;
    m.sink->send(notice.frame);
    if (m.owner)
      self->send(caf::actor_cast<session_actor>(m.owner), kicked_atom::value, room_name);
    sessions.push_back(m.session);
  }
  for (const auto& session : sessions)
    remove_member(self, room_name, session);
}

/// Tells each of a user's sessions here, whatever rooms they are in, once.
void tell_user(hub_self self, const user_notice& notice) {
  std::set<std::string> told;
  for (auto& [name, room] : self->state.rooms)
    for (auto& m : room.members)
      if (m.name == notice.user && told.insert(m.session).second) {
        if (notice.disconnect)
          m.sink->close(close_code::policy_violation, "disconnected by an operator");
        else if (!m.pending)
          m.sink->send(notice.frame);
      }
}

void relay_typing(hub_self self, const std::string& room, const std::string& user,
                  const std::string& session) {
  auto rit = self->state.rooms.find(room);
  if (rit == self->state.rooms.end() || !rit->second.typing.allow(user))
    return;
  auto frame = make_frame(encode_typing(room, user));
  for (auto& m : rit->second.members)
    if (!m.pending && m.session != session)
      m.sink->send(frame);
}

hub_actor::behavior_type hub(hub_self self, hub_bus bus, stats_ptr stats, hub_settings settings) {
  self->state.bus = std::move(bus);
  self->state.stats = std::move(stats);
  self->state.settings = settings;
  // An error that comes as a message must not stop the node's hub: CAF's
  // default would (see the bridge).
  self->set_error_handler([](caf::error&) {});
  return {
    [self](enter_atom, join_request& req) { handle_join(self, req); },
    [self](leave_atom, const std::string& room, const std::string& session) {
      remove_member(self, room, session);
    },
    [self](deliver_atom, const std::string& room, const stored_message& msg) { deliver(self, room, msg); },
    [self](presence_atom, const std::string& room, const presence_event& event) {
      announce(self, room, event);
    },
    [self](typing_atom, const std::string& room, const std::string& user, const std::string& session) {
      relay_typing(self, room, user, session);
    },
    [self](resync_atom, const std::string& room) { ask_who(self, room); },
    [self](read_atom, const std::string& room, const read_notice& notice) {
      tell_reader(self, room, notice);
    },
    [self](kick_atom, const std::string& room, const kick_notice& notice) { kick(self, room, notice); },
    [self](notice_atom, const user_notice& notice) { tell_user(self, notice); },
    [self](members_atom, const std::string& room, const members_query& query) {
      answer_members(self, room, query);
    },
    [self](flush_atom, const std::string& room, std::uint64_t generation) {
      flush_presence(self, room, generation);
    },
  };
}

} // namespace

std::chrono::milliseconds batch_interval_for(const hub_settings& settings, std::size_t members) {
  auto steps = settings.batch_members == 0 ? 1 : 1 + members / settings.batch_members;
  return settings.batch_interval * static_cast<std::int64_t>(steps);
}

hub_actor spawn_hub(caf::actor_system& sys, hub_bus bus, stats_ptr stats, hub_settings settings) {
  return sys.spawn(hub, std::move(bus), std::move(stats), settings);
}

} // namespace chatnode

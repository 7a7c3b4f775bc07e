// The Redis bridge's presence: which names this node has in each room, told
// to Redis (presence.lua) and renewed by a heartbeat (refresh.lua) that also
// removes the members of nodes gone; presence events from the channel go to
// the hub (the frame made here, by the codec), and a hub that may have
// missed some is told to ask again.

#include "actors/redis_bus/redis_bridge_state.hpp"

#include "actors/wire/protocol.hpp"

#include <caf/event_based_actor.hpp>

#include <charconv>
#include <set>

namespace chatnode::bridge {

namespace {

/// The keys every presence script takes, in its order.
std::vector<std::string> presence_keys(const bridge_state& st, const std::string& room) {
  return {st.keys.members(room), st.keys.presence_version(room), st.keys.channel(room), st.keys.nodes(room),
          st.keys.names(room)};
}

std::string ttl_ms(const bridge_state& st) {
  return std::to_string(st.settings.presence_ttl.count());
}

/// Sends every name of a room again, after Redis may have lost them.
void sync_presence(bridge_actor* self, const std::string& room) {
  auto& st = self->state;
  auto nit = st.names.find(room);
  if (nit == st.names.end() || !st.command_up)
    return;
  st.unsynced_rooms.erase(room);
  auto names = nit->second.present;
  for (const auto& [name, present] : names)
    send_presence(self, room, name, present, false);
}

} // namespace

std::vector<std::string> distinct_names(const redis_reply& fields) {
  std::set<std::string> names;
  for (const auto& field : fields.elements)
    if (auto nl = field.str.find('\n'); nl != std::string::npos)
      names.insert(field.str.substr(nl + 1));
  return {names.begin(), names.end()};
}

/// Tells Redis whether a name is here; a failure leaves the room for the
/// next full sync. When Redis did not take this node for live in a room
/// where it has other names (Redis lost its data, or the node's entry
/// expired), those may be gone: it tells Redis all its names again and the
/// hub compares what its members were told, as after a heartbeat that finds
/// the same (else a join right after the loss would renew the entry and
/// hide it from the heartbeat).
void send_presence(bridge_actor* self, const std::string& room, const std::string& name, bool present,
                   bool check_live) {
  auto& st = self->state;
  auto nit = st.names.find(room);
  bool others_here = nit != st.names.end() && nit->second.others_present(name);
  run_script(
    self, scripts::presence, presence_keys(st, room),
    {st.settings.node, name, present ? "1" : "0", st.settings.incarnation, ttl_ms(st), st.publish_command()},
    [self, room, name, present, check_live, others_here](redis_reply r) {
      auto& st = self->state;
      if (r.is_error()) {
        st.unsynced_rooms.insert(room);
        return;
      }
      // The room's directory entry, from the node that changed it (its own
      // event may come before its subscription does).
      if (r.type == redis_reply::kind::array && r.elements.size() >= 2 && r.elements[0].integer > 0)
        note_members(self, room, static_cast<std::uint64_t>(r.elements[0].integer),
                     static_cast<std::size_t>(r.elements[1].integer));
      if (check_live && others_here && r.type == redis_reply::kind::array && r.elements.size() >= 3 &&
          r.elements[2].integer == 0) {
        sync_presence(self, room);
        if (auto it = st.rooms.find(room); it != st.rooms.end()) {
          it->second.resync_due = true;
          send_resyncs(self);
        }
      }
      // An absence Redis has confirmed needs no more care.
      auto nit = st.names.find(room);
      if (present || nit == st.names.end())
        return;
      nit->second.forget_absent(name);
      if (nit->second.present.empty())
        st.names.erase(nit);
    });
}

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
  run_script(self, scripts::refresh, presence_keys(st, room),
             {st.settings.node, st.settings.incarnation, ttl_ms(st), st.publish_command()},
             [self, room](redis_reply r) {
               if (r.type == redis_reply::kind::array && r.elements.size() >= 4 && r.elements[2].integer > 0)
                 note_members(self, room, static_cast<std::uint64_t>(r.elements[2].integer),
                              static_cast<std::size_t>(r.elements[3].integer));
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

void answer_who(bridge_actor* self, const std::string& room, caf::response_promise promise) {
  auto& st = self->state;
  // The snapshot script without history: only its members and version.
  run_script(self, scripts::snapshot, snapshot_keys(st, room),
             {std::string{}, "0", st.replicated_flag(), std::string{}, "1"},
             [promise](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 4) {
                 promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               promise.deliver(presence_snapshot{distinct_names(r.elements[1]),
                                                 std::strtoull(r.elements[2].str.c_str(), nullptr, 10)});
             });
}

void on_presence(bridge_actor* self, room_link& r, const std::string& room, std::string_view version,
                 std::string_view rest) {
  // <join|leave>\n<count>\n<name>
  auto nl = rest.find('\n');
  auto nl2 = nl == std::string_view::npos ? nl : rest.find('\n', nl + 1);
  if (nl2 == std::string_view::npos)
    return;
  auto kind = rest.substr(0, nl);
  std::size_t count = 0;
  auto digits = rest.substr(nl + 1, nl2 - nl - 1);
  if ((kind != "join" && kind != "leave") ||
      std::from_chars(digits.data(), digits.data() + digits.size(), count).ec != std::errc{})
    return;
  std::string user{rest.substr(nl2 + 1)};
  bool joined = kind == "join";
  auto frame = make_frame(encode_presence(room, user, joined, count));
  presence_event event{std::strtoull(std::string{version}.c_str(), nullptr, 10), std::move(user), joined,
                       std::move(frame)};
  note_members(self, room, event.version, count);
  self->send(r.hub, presence_atom::value, room, std::move(event));
}

} // namespace chatnode::bridge

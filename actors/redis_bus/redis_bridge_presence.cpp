// The Redis bridge's presence: names told to Redis and renewed by a
// heartbeat; presence events from the channel go to the hub (the frame made
// here, by the codec), and a hub that may have missed some is told to ask
// again.

#include "actors/redis_bus/redis_bridge_presence.hpp"

#include "actors/redis_bus/redis_bridge_messages.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/event_based_actor.hpp>

#include <charconv>
#include <set>

namespace chatnode::bridge {

std::vector<std::string> distinct_names(const redis_reply& fields) {
  std::set<std::string> names;
  for (const auto& field : fields.elements)
    if (auto nl = field.str.find('\n'); nl != std::string::npos)
      names.insert(field.str.substr(nl + 1));
  return {names.begin(), names.end()};
}

/// The keys every presence script takes, in its order.
std::vector<std::string> presence_sync::presence_keys(const std::string& room) const {
  const auto& keys = core_.keys;
  return {keys.members(room), keys.presence_version(room), keys.channel(room), keys.nodes(room),
          keys.names(room)};
}

void presence_sync::on_member(const std::string& room, const std::string& name, bool present) {
  names_[room].set(name, present);
  if (calls_.command_up())
    send_presence(room, name, present);
  else
    unsynced_.insert(room);
}

/// Tells Redis whether a name is here; a failure leaves the room for the
/// next full sync. When Redis did not take this node for live in a room
/// where it has other names (Redis lost its data, or the node's entry
/// expired), those may be gone: it tells Redis all its names again and the
/// hub compares what its members were told, as after a heartbeat that finds
/// the same (else a join right after the loss would renew the entry and
/// hide it from the heartbeat).
void presence_sync::send_presence(const std::string& room, const std::string& name, bool present,
                                  bool check_live) {
  auto nit = names_.find(room);
  bool others_here = nit != names_.end() && nit->second.others_present(name);
  const auto& settings = core_.settings;
  calls_.send(
    redis_call::run_script(scripts::presence, presence_keys(room),
                           {settings.node, name, present ? "1" : "0", settings.incarnation,
                            std::to_string(settings.presence_ttl.count()), core_.publish_command()}),
    [this, room, name, present, live_checked = check_live && others_here](redis_reply r) {
      on_presence_reply(room, name, present, live_checked, r);
    });
}

void presence_sync::on_presence_reply(const std::string& room, const std::string& name, bool present,
                                      bool live_checked, const redis_reply& r) {
  if (r.is_error()) {
    unsynced_.insert(room);
    return;
  }
  // The room's directory entry, from the node that changed it (its own
  // event may come before its subscription does).
  if (is_array(r, 2) && r.elements[0].integer > 0)
    directory_.note_members(room, static_cast<std::uint64_t>(r.elements[0].integer),
                            static_cast<std::size_t>(r.elements[1].integer));
  if (live_checked && is_array(r, 3) && r.elements[2].integer == 0)
    presence_lost(room);
  // An absence Redis has confirmed needs no more care.
  auto nit = names_.find(room);
  if (present || nit == names_.end())
    return;
  nit->second.forget_absent(name);
  if (nit->second.present.empty())
    names_.erase(nit);
}

void presence_sync::sync_presence(const std::string& room) {
  auto nit = names_.find(room);
  if (nit == names_.end() || !calls_.command_up())
    return;
  unsynced_.erase(room);
  auto names = nit->second.present;
  for (const auto& [name, present] : names)
    send_presence(room, name, present, false);
}

void presence_sync::presence_lost(const std::string& room) {
  sync_presence(room);
  resync_room_(room);
}

void presence_sync::heartbeat() {
  for (const auto& [room, names] : names_)
    refresh_room(room);
  auto unsynced = unsynced_; // sync_presence erases from it
  for (const auto& room : unsynced)
    sync_presence(room);
}

void presence_sync::unsync_all() {
  for (const auto& [room, names] : names_)
    unsynced_.insert(room);
}

/// This node's presence heartbeat in one room. When Redis did not take the
/// node for live there (its entry expired, the node was started again, or
/// Redis lost its data), other nodes may have removed its members: it tells
/// Redis its names again, and the hub compares what its members were told.
void presence_sync::refresh_room(const std::string& room) {
  const auto& settings = core_.settings;
  calls_.send(
    redis_call::run_script(scripts::refresh, presence_keys(room),
                           {settings.node, settings.incarnation,
                            std::to_string(settings.presence_ttl.count()), core_.publish_command()}),
    [this, room](redis_reply r) {
      if (is_array(r, 4) && r.elements[2].integer > 0)
        directory_.note_members(room, static_cast<std::uint64_t>(r.elements[2].integer),
                                static_cast<std::size_t>(r.elements[3].integer));
      if (is_array(r, 1) && r.elements[0].integer == 0)
        presence_lost(room);
    });
}

caf::result<presence_snapshot> presence_sync::who(const std::string& room) {
  // The snapshot script without history: only its members and version.
  return calls_.answer<presence_snapshot>(
    redis_call::run_script(scripts::snapshot, snapshot_keys(core_.keys, room),
                           {std::string{}, "0", core_.replicated_flag(), std::string{}, "1"}),
    [](const redis_reply& r) -> std::optional<presence_snapshot> {
      if (!is_array(r, 4))
        return std::nullopt;
      return presence_snapshot{distinct_names(r.elements[1]),
                               std::strtoull(r.elements[2].str.c_str(), nullptr, 10)};
    });
}

void presence_sync::on_event(const hub_actor& hub, const std::string& room, std::string_view version,
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
                       std::move(frame), count};
  directory_.note_members(room, event.version, count);
  core_.self->send(hub, presence_atom::value, room, std::move(event));
}

} // namespace chatnode::bridge

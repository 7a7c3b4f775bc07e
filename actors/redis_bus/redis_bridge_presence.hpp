#pragma once
// The Redis bridge's presence: which names this node has in each room, told
// to Redis (presence.lua) and renewed by a heartbeat (refresh.lua) that also
// removes the members of nodes gone.

#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_directory.hpp"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace chatnode::bridge {

/// The names of one room this node last told Redis about, or still must,
/// and how many of them are present: a join asks whether the node has
/// others there, which must not cost a walk over a room of 100,000.
struct told_names {
  std::map<std::string, bool> present; ///< name -> present
  std::size_t present_count = 0;

  void set(const std::string& name, bool here) {
    auto it = present.try_emplace(name, false).first;
    if (it->second == here)
      return;
    it->second = here;
    if (here)
      ++present_count;
    else
      --present_count;
  }
  /// Forgets a name whose absence Redis has confirmed.
  void forget_absent(const std::string& name) {
    if (auto it = present.find(name); it != present.end() && !it->second)
      present.erase(it);
  }
  bool others_present(const std::string& name) const {
    auto it = present.find(name);
    return present_count > (it != present.end() && it->second ? 1 : 0);
  }
};

/// The names in a room's members hash, whose fields are "<node>\n<name>".
std::vector<std::string> distinct_names(const redis_reply& fields);

class presence_sync {
public:
  /// `resync_room` asks a room's hub to compare what its members were told
  /// with Redis: presence events may have been lost.
  presence_sync(bridge_core& core, redis_calls& calls, directory_writer& directory,
                std::function<void(const std::string& room)> resync_room)
    : core_(core),
      calls_(calls),
      directory_(directory),
      resync_room_(std::move(resync_room)) {}

  /// Renews this node's presence in every room, and sends what Redis has not confirmed.
  void heartbeat();
  /// The command link is back: every room's names are sent again.
  void unsync_all();
  /// A presence event from the channel, for the room's hub: `rest` is
  /// "<join|leave>\n<count>\n<user>".
  void on_event(const hub_actor& hub, const std::string& room, std::string_view version,
                std::string_view rest);

  auto handlers() {
    return std::make_tuple(
      [this](member_atom, const std::string& room, const std::string& name, bool present) {
        on_member(room, name, present);
      },
      [this](who_atom, const std::string& room) -> caf::result<presence_snapshot> { return who(room); });
  }

private:
  void on_member(const std::string& room, const std::string& name, bool present);
  caf::result<presence_snapshot> who(const std::string& room);
  /// `check_live`: a reply saying the node was not live in the room starts a
  /// full sync (not for the calls of that sync itself).
  void send_presence(const std::string& room, const std::string& name, bool present, bool check_live = true);
  void on_presence_reply(const std::string& room, const std::string& name, bool present, bool live_checked,
                         const redis_reply& r);
  void refresh_room(const std::string& room);
  /// Sends every name of a room again, after Redis may have lost them.
  void sync_presence(const std::string& room);
  /// Redis did not take this node for live in a room: its names are sent
  /// again, and the hub compares what its members were told.
  void presence_lost(const std::string& room);
  std::vector<std::string> presence_keys(const std::string& room) const;

  bridge_core& core_;
  redis_calls& calls_;
  directory_writer& directory_;
  std::function<void(const std::string& room)> resync_room_;
  /// name -> present, per room, as this node last told Redis or still must.
  std::map<std::string, told_names> names_;
  std::set<std::string> unsynced_; ///< rooms whose presence Redis has not confirmed
};

} // namespace chatnode::bridge

#pragma once
// A room as the hub keeps it: its members on this node, the presence view
// they share, what they were told of it, and the typing gate. Private to
// the chat core: the hub and its presence batches share it.

#include "actors/chat/presence_view.hpp"
#include "actors/chat/told_presence.hpp"
#include "actors/chat/typing_gate.hpp"
#include "actors/contracts/client_sink.hpp"
#include "actors/contracts/messages.hpp"

#include <caf/actor.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chatnode {

/// A session in a room. Until the bus answers its snapshot query it is
/// pending: live messages for it are held back, so none comes before its
/// `joined` and none is lost; afterwards what the snapshot held is dropped.
/// Presence needs no holding back: `joined` lists who the members were told
/// is there when it is sent, and later changes follow.
struct room_member {
  std::string session;
  std::string name;
  sink_ptr sink;
  caf::actor owner;
  std::string peer; ///< a direct conversation's other user
  std::string role;
  bool pending = true;
  std::vector<stored_message> held_messages{};
  /// The newest message this member has: anything not newer is a duplicate
  /// (a bus may deliver a message that the member's history already held).
  std::optional<message_id> last_message{};
  /// The member names it holds: in a big room, a batch tells it only of
  /// changes among those (and the count).
  member_window window{};
  std::vector<members_query> held_pages{}; ///< asked for before `joined`

  void deliver(const stored_message& msg) {
    if (last_message && msg.id <= *last_message)
      return;
    last_message = msg.id;
    sink->send(msg.frame, msg.received_ns);
  }
};

struct room_state {
  std::uint64_t generation = 0; ///< tells this room from an earlier one of the same name
  std::vector<room_member> members;
  std::map<std::string, std::size_t> names; ///< local sessions per name
  presence_view presence;
  told_presence told;     ///< what the members were told of the view, and what they will be
  bool flush_due = false; ///< a batch of presence changes is timed
  typing_gate typing;     ///< which typing notices go out

  room_member* find(const std::string& session) {
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const room_member& m) { return m.session == session; });
    return it == members.end() ? nullptr : &*it;
  }
};

} // namespace chatnode

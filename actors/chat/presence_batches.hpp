#pragma once
// How a room's members hear who came and went: at once in a small room; in
// a big one, the changes of an interval together, each member the part of
// them among the names it holds, and the rest of the names in pages it asks
// for. The hub times the batches and counts them.

#include "actors/chat/hub_room.hpp"

#include <cstddef>
#include <string>

namespace chatnode {

/// Tells the members that someone came or went: at once in a small room, or
/// with the next batch in a big one, and then too while a batch waits, so
/// that changes keep their order. Returns whether the change waits for a
/// batch. In a small room each member hears the count of the names it
/// holds: the view's, and its own, which it holds whether the view does or
/// not (nobody is told of their own comings and goings, and the bus may
/// have taken a member of a node cut off from it for gone). `frame`, the
/// bus's own with the count `frame_count`, goes to those it counts right
/// for; the others get one made here.
bool tell_or_batch(room_state& room, const std::string& room_name, const std::string& user, bool present,
                   const frame_ptr& frame, std::size_t frame_count, std::size_t big_room);

/// A big room's presence changes since the last batch go out: to each
/// member, how they change the names it holds, and the count. As in a small
/// room, a member holds its own name whether the view does or not. Returns
/// whether there were any.
bool send_batch(room_state& room, const std::string& room_name, std::size_t big_room);

/// A page of the member names the members were told of, to one member.
void send_members(const std::string& room_name, room_state& room, room_member& m, const members_query& query,
                  std::size_t big_room);

} // namespace chatnode

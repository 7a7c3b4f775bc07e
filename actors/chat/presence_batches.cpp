#include "actors/chat/presence_batches.hpp"

#include "actors/wire/protocol.hpp"

#include <map>
#include <optional>
#include <utility>

namespace chatnode {

bool tell_or_batch(room_state& room, const std::string& room_name, const std::string& user, bool present,
                   const frame_ptr& frame, std::size_t frame_count, std::size_t big_room) {
  // Members of a room told it was big hold part of the list until a batch
  // gives them the rest: changes wait for that batch.
  if (room.told.pending() || room.presence.names().size() > big_room || room.told.count() > big_room) {
    room.told.note(user, present);
    return true;
  }
  room.told.apply(user, present);
  // The bus counted at the event; the view may differ from the bus there
  // (it missed events, which a query makes good later), and the members
  // hold the view's names.
  const auto& view = room.presence.names();
  frame_ptr counted = frame && frame_count == view.size() ? frame : nullptr;
  frame_ptr counted_with_own; // for members the view lacks
  for (auto& m : room.members) {
    if (m.pending || m.name == user)
      continue; // members know they are there themselves
    bool own_in_view = view.contains(m.name);
    auto& f = own_in_view ? counted : counted_with_own;
    if (!f)
      f = make_frame(encode_presence(room_name, user, present, view.size() + (own_in_view ? 0 : 1)));
    m.sink->send(f);
  }
  return false;
}

bool send_batch(room_state& room, const std::string& room_name, std::size_t big_room) {
  if (!room.told.pending())
    return false;
  auto first_before = room.told.page(std::nullopt, big_room);
  auto changes = room.told.take();
  auto first_after = room.told.page(std::nullopt, big_room);
  bool count_changed = changes.count != changes.count_before;
  auto frame_for = [&](const room_member& m) -> frame_ptr {
    auto diff = batch_diff(m.window, changes, first_before, first_after);
    auto count = changes.count;
    if (!room.told.contains(m.name)) { // it holds its own name all the same
      keep_own_name(diff, m.name);
      ++count;
    }
    if (diff.empty() && diff.upto.empty() && !count_changed)
      return nullptr; // nothing to tell
    return make_frame(encode_presence_diff(room_name, diff.add, diff.remove, count, diff.upto));
  };
  // Members holding the same names share one frame, but for those whose
  // own name the told names lack.
  std::map<std::pair<member_window::reach, std::string>, frame_ptr> frames;
  for (auto& m : room.members) {
    if (m.pending)
      continue;
    frame_ptr frame;
    if (!room.told.contains(m.name)) {
      frame = frame_for(m);
    } else {
      auto key = std::pair{m.window.kind, m.window.last};
      auto it = frames.find(key);
      if (it == frames.end())
        it = frames.emplace(std::move(key), frame_for(m)).first;
      frame = it->second;
    }
    if (frame)
      m.sink->send(frame);
    m.window.after_batch(first_after.more);
  }
  return true;
}

void send_members(const std::string& room_name, room_state& room, room_member& m, const members_query& query,
                  std::size_t big_room) {
  // A page never starts past the names the member holds: its list may have
  // moved (a batch moved the first page) since it asked, and a gap would
  // never be filled.
  auto after = query.after;
  std::optional<std::string> held_last;
  if (m.window.kind == member_window::reach::first_page)
    if (auto first = room.told.page(std::nullopt, big_room); first.more)
      held_last = first.names.back();
  if (m.window.kind == member_window::reach::asked_upto)
    held_last = m.window.last;
  if (after && held_last && *after > *held_last)
    after = held_last;
  auto page = room.told.page(after, query.limit);
  m.window.extend(page);
  if (!room.told.contains(m.name))
    add_own_name(page, after, m.name);
  m.sink->send(make_frame(encode_members(room_name, page.names, page.count, page.more)));
}

} // namespace chatnode

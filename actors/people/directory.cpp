#include "actors/people/directory.hpp"

#include "actors/wire/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <map>

namespace chatnode {

void sort_directory(std::vector<directory_entry>& rooms) {
  std::sort(rooms.begin(), rooms.end(), [](const directory_entry& a, const directory_entry& b) {
    if (a.members != b.members)
      return a.members > b.members;
    if (a.last_ts != b.last_ts)
      return a.last_ts.value_or(0) > b.last_ts.value_or(0);
    return a.room < b.room;
  });
}

directory_page page_of(std::vector<directory_entry> all, std::size_t offset, std::size_t limit) {
  std::erase_if(all, [](const directory_entry& e) { return !listed(e.room); });
  sort_directory(all);
  directory_page page;
  if (offset >= all.size())
    return page;
  auto end = std::min(all.size(), offset + limit);
  page.rooms.assign(all.begin() + static_cast<std::ptrdiff_t>(offset),
                    all.begin() + static_cast<std::ptrdiff_t>(end));
  if (end < all.size())
    page.next = end;
  return page;
}

namespace {

constexpr auto tick_every = std::chrono::seconds{1};

struct directory_state {
  directory_state() = default; // not an aggregate (see hub_state)

  directory_bus bus;
  std::map<std::string, sink_ptr> watchers;     ///< session -> sink
  std::map<std::string, directory_entry> known; ///< what the watchers were last told, by room
  bool ticking = false;
  bool asking = false;

  static inline const char* name = "directory";
};

using directory_self = directory_actor::stateful_pointer<directory_state>;

using directory_view = std::map<std::string, directory_entry>;

directory_view view_of(const directory_listing& listing) {
  directory_view view;
  for (const auto& entry : listing)
    if (listed(entry.room))
      view.emplace(entry.room, entry);
  return view;
}

/// room_update events that bring a watcher from one view to the next.
std::vector<frame_ptr> changes_between(const directory_view& before, const directory_view& now) {
  std::vector<frame_ptr> updates;
  for (const auto& [room, entry] : now)
    if (auto it = before.find(room); it == before.end() || !(it->second == entry))
      updates.push_back(make_frame(encode_room_update(entry)));
  for (const auto& [room, entry] : before)
    if (!now.contains(room))
      updates.push_back(make_frame(encode_room_update(directory_entry{room, 0, entry.last_ts})));
  return updates;
}

/// Tells every watcher about each listed room that changed since the last look.
void tell_changes(directory_self self, const directory_listing& listing) {
  auto& st = self->state;
  auto now = view_of(listing);
  auto updates = changes_between(st.known, now);
  st.known = std::move(now);
  for (const auto& [session, sink] : st.watchers)
    for (const auto& frame : updates)
      sink->send(frame);
}

void look(directory_self self) {
  auto& st = self->state;
  if (st.asking)
    return;
  st.asking = true;
  self->request(st.bus, std::chrono::seconds{5}, rooms_atom::value)
    .then(
      [self](const directory_listing& listing) {
        self->state.asking = false;
        tell_changes(self, listing);
      },
      [self](const caf::error&) { self->state.asking = false; });
}

directory_actor::behavior_type directory(directory_self self, directory_bus bus) {
  self->state.bus = std::move(bus);
  self->set_error_handler([](caf::error&) {});
  return {
    [self](watch_atom, directory_watcher& w) {
      auto& st = self->state;
      auto seen = view_of(w.seen);
      if (st.watchers.empty()) {
        st.known = std::move(seen); // what this watcher saw: changes from here on
      } else {
        // Brought up to what the others were last told.
        for (const auto& frame : changes_between(seen, st.known))
          w.sink->send(frame);
      }
      st.watchers.insert_or_assign(std::move(w.session), std::move(w.sink));
      if (!std::exchange(st.ticking, true))
        self->delayed_send(self, tick_every, tick_atom::value);
    },
    [self](unwatch_atom, const std::string& session) { self->state.watchers.erase(session); },
    [self](tick_atom) {
      auto& st = self->state;
      if (st.watchers.empty()) {
        st.ticking = false;
        return;
      }
      look(self);
      self->delayed_send(self, tick_every, tick_atom::value);
    },
  };
}

} // namespace

directory_actor spawn_directory(caf::actor_system& sys, directory_bus bus) {
  return sys.spawn(directory, std::move(bus));
}

} // namespace chatnode

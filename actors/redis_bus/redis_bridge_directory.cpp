// The Redis bridge's part of the room directory: one hash for the whole
// chat (actors/redis_bus/lua/directory.lua), written by the nodes that see a room's
// presence change or store its messages, read whole for a listing.

#include "actors/people/directory.hpp"
#include "actors/redis_bus/redis_bridge_state.hpp"

#include <caf/event_based_actor.hpp>

#include <charconv>

namespace chatnode::bridge {

namespace {

constexpr auto flush_every = std::chrono::seconds{1};

void write(bridge_actor* self, const std::string& room, std::string version, std::string members,
           std::string last_ms) {
  auto& st = self->state;
  run_script(self, scripts::directory, {st.keys.directory()},
             {room, std::move(version), std::move(members), std::move(last_ms)}, [](redis_reply) {});
}

} // namespace

namespace {

/// The first change noted since the last flush schedules the next one.
void schedule_flush(bridge_actor* self) {
  auto& st = self->state;
  if (st.directory_dirty.empty() && st.directory_members.empty())
    self->delayed_send(self, flush_every, flush_atom::value);
}

} // namespace

void note_members(bridge_actor* self, const std::string& room, std::uint64_t version, std::size_t members) {
  if (!listed(room))
    return;
  schedule_flush(self);
  auto& noted = self->state.directory_members[room];
  if (members == 0) {
    // An empty room starts its versions over: the write that empties it
    // must reach the directory before any later one.
    noted.emptied = std::max(noted.emptied.value_or(0), version);
    noted.last.reset();
  } else if (!noted.last || version > noted.last->first) {
    noted.last = std::pair{version, members};
  }
}

void note_activity(bridge_actor* self, const std::string& room, std::int64_t ms) {
  if (!listed(room))
    return;
  schedule_flush(self);
  auto& newest = self->state.directory_dirty[room];
  newest = std::max(newest, ms);
}

void flush_directory(bridge_actor* self) {
  auto members = std::exchange(self->state.directory_members, {});
  for (const auto& [room, noted] : members) {
    if (noted.emptied)
      write(self, room, std::to_string(*noted.emptied), "0", {});
    if (noted.last)
      write(self, room, std::to_string(noted.last->first), std::to_string(noted.last->second), {});
  }
  auto dirty = std::exchange(self->state.directory_dirty, {});
  for (const auto& [room, ms] : dirty)
    write(self, room, {}, {}, std::to_string(ms));
}

void list_rooms(bridge_actor* self, caf::response_promise promise) {
  call(self, {"HGETALL", self->state.keys.directory()}, [promise](redis_reply r) mutable {
    if (r.type != redis_reply::kind::array) {
      promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
      return;
    }
    directory_listing listing;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      // "<version> <members> <last ms>"
      const auto& value = r.elements[i + 1].str;
      std::uint64_t version = 0, members = 0;
      std::int64_t last = 0;
      const char* p = value.data();
      const char* end = p + value.size();
      auto a = std::from_chars(p, end, version);
      if (a.ec != std::errc{} || a.ptr == end)
        continue;
      auto b = std::from_chars(a.ptr + 1, end, members);
      if (b.ec != std::errc{} || b.ptr == end)
        continue;
      std::from_chars(b.ptr + 1, end, last);
      directory_entry entry{r.elements[i].str, static_cast<std::size_t>(members), std::nullopt};
      if (last > 0)
        entry.last_ts = last;
      listing.push_back(std::move(entry));
    }
    promise.deliver(std::move(listing));
  });
}

} // namespace chatnode::bridge

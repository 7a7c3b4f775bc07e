// The Redis bridge's part of the room directory: what this node saw noted,
// written once a second, and the whole directory read for a listing.

#include "actors/redis_bus/redis_bridge_directory.hpp"

#include "actors/people/directory.hpp"

#include <caf/event_based_actor.hpp>

#include <charconv>

namespace chatnode::bridge {

namespace {

constexpr auto flush_every = std::chrono::seconds{1};

/// A directory value, "<version> <members> <last ms>", as a room's entry.
std::optional<directory_entry> parse_entry(const std::string& room, const std::string& value) {
  std::uint64_t version = 0, members = 0;
  std::int64_t last = 0;
  const char* p = value.data();
  const char* end = p + value.size();
  auto a = std::from_chars(p, end, version);
  if (a.ec != std::errc{} || a.ptr == end)
    return std::nullopt;
  auto b = std::from_chars(a.ptr + 1, end, members);
  if (b.ec != std::errc{} || b.ptr == end)
    return std::nullopt;
  std::from_chars(b.ptr + 1, end, last);
  directory_entry entry{room, static_cast<std::size_t>(members), std::nullopt};
  if (last > 0)
    entry.last_ts = last;
  return entry;
}

} // namespace

void directory_writer::write(const std::string& room, std::string version, std::string members,
                             std::string last_ms) {
  calls_.send(redis_call::run_script(scripts::directory, {core_.keys.directory()},
                                     {room, std::move(version), std::move(members), std::move(last_ms)}),
              [](redis_reply) {});
}

void directory_writer::schedule_flush() {
  if (activity_.empty() && members_.empty())
    core_.self->delayed_send(core_.self, flush_every, flush_atom::value);
}

void directory_writer::note_members(const std::string& room, std::uint64_t version, std::size_t members) {
  if (!listed(room))
    return;
  schedule_flush();
  auto& noted = members_[room];
  if (members == 0) {
    // An empty room starts its versions over: the write that empties it
    // must reach the directory before any later one.
    noted.emptied = std::max(noted.emptied.value_or(0), version);
    noted.last.reset();
  } else if (!noted.last || version > noted.last->first) {
    noted.last = std::pair{version, members};
  }
}

void directory_writer::note_activity(const std::string& room, std::int64_t ms) {
  if (!listed(room))
    return;
  schedule_flush();
  auto& newest = activity_[room];
  newest = std::max(newest, ms);
}

void directory_writer::flush() {
  auto members = std::exchange(members_, {});
  for (const auto& [room, noted] : members) {
    if (noted.emptied)
      write(room, std::to_string(*noted.emptied), "0", {});
    if (noted.last)
      write(room, std::to_string(noted.last->first), std::to_string(noted.last->second), {});
  }
  auto activity = std::exchange(activity_, {});
  for (const auto& [room, ms] : activity)
    write(room, {}, {}, std::to_string(ms));
}

caf::result<directory_listing> directory_writer::list_rooms() {
  return calls_.answer<directory_listing>(
    redis_call::command({"HGETALL", core_.keys.directory()}),
    [](const redis_reply& r) -> std::optional<directory_listing> {
      if (!is_array(r))
        return std::nullopt;
      directory_listing listing;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        if (auto entry = parse_entry(r.elements[i].str, r.elements[i + 1].str))
          listing.push_back(std::move(*entry));
      return listing;
    });
}

} // namespace chatnode::bridge

// The Redis bridge's side of the archive: notices of entries to archive, and
// a room's entries read back from its stream for it.

#include "actors/redis_bus/redis_bridge_archive.hpp"

#include "actors/redis_bus/redis_entries.hpp"

namespace chatnode::bridge {

void archive_feed::tell(const std::string& room, message_id id, bool stored_here) {
  if (archive_)
    core_.self->send(archive_, archive_atom::value, archive_notice{room, id, stored_here});
}

caf::result<entry_batch> archive_feed::entries(const entries_query& query) {
  const auto& keys = core_.keys;
  return calls_.answer<entry_batch>(
    redis_call::run_script(
      scripts::catch_up, {keys.log(query.room), keys.watermark(query.room)},
      {query.after.to_string(), std::string{}, std::to_string(query.limit), core_.replicated_flag()}),
    [room = query.room](const redis_reply& r) -> std::optional<entry_batch> {
      if (!is_array(r))
        return std::nullopt;
      entry_batch batch;
      batch.reserve(r.elements.size());
      for (const auto& entry : r.elements) {
        auto event = entry_event(room, entry);
        batch.push_back({event.id, entry_number(entry), std::move(event.frame)});
      }
      return batch;
    });
}

void archive_feed::note_archived(const archived_mark& m) {
  calls_.send(redis_call::run_script(scripts::archived, {core_.keys.archived(m.room)}, {m.mark.to_string()}),
              [](redis_reply) {});
}

bool archive_feed::older_archived(const std::vector<redis_reply>& entries) const {
  if (!archive_)
    return false;
  std::uint64_t oldest = 0;
  for (const auto& entry : entries)
    if (!is_change(entry)) {
      auto n = entry_number(entry);
      if (oldest == 0 || n < oldest)
        oldest = n;
    }
  return oldest > 1;
}

} // namespace chatnode::bridge

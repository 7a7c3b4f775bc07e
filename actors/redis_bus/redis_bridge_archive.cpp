// The Redis bridge's side of the archive: notices of entries to archive, and
// a room's entries read back from its stream for it.

#include "actors/redis_bus/redis_bridge_state.hpp"
#include "actors/redis_bus/redis_entries.hpp"

namespace chatnode::bridge {

void tell_archive(bridge_actor* self, const std::string& room, message_id id, bool stored_here) {
  if (self->state.archive)
    self->send(self->state.archive, archive_atom::value, archive_notice{room, id, stored_here});
}

void answer_entries(bridge_actor* self, const entries_query& query, caf::response_promise promise) {
  auto& st = self->state;
  run_script(self, scripts::catch_up, {st.keys.log(query.room), st.keys.watermark(query.room)},
             {query.after.to_string(), std::string{}, std::to_string(query.limit), st.replicated_flag()},
             [promise, room = query.room](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array) {
                 promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               entry_batch batch;
               batch.reserve(r.elements.size());
               for (const auto& entry : r.elements) {
                 auto event = entry_event(room, entry);
                 batch.push_back({event.id, entry_number(entry), std::move(event.frame)});
               }
               promise.deliver(std::move(batch));
             });
}

void note_archived(bridge_actor* self, const archived_mark& m) {
  auto& st = self->state;
  run_script(self, scripts::archived, {st.keys.archived(m.room)}, {m.mark.to_string()}, [](redis_reply) {});
}

bool older_archived(const bridge_state& st, const std::vector<redis_reply>& entries) {
  if (!st.archive)
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

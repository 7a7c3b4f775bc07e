// The Redis bridge's side of the archive and the webhooks: notices of
// entries, a room's entries read back from its stream, the archive's mark,
// and the webhooks' leases and cursors.

#include "actors/redis_bus/redis_bridge_feed.hpp"

#include "actors/redis_bus/redis_entries.hpp"

namespace chatnode::bridge {

void entry_feed::tell(const std::string& room, message_id id, bool stored_here) {
  if (archive_)
    core_.self->send(archive_, archive_atom::value, archive_notice{room, id, stored_here});
  if (hooked(room))
    core_.self->send(webhooks_, webhook_atom::value, archive_notice{room, id, stored_here});
}

std::string entry_feed::hook_hold(const std::string& room) const {
  return hooked(room) ? std::to_string(hook_hold_) : std::string{};
}

caf::result<hook_lease> entry_feed::claim_hook(const hook_claim_request& claim) {
  const auto& keys = core_.keys;
  return calls_.answer<hook_lease>(
    redis_call::run_script(scripts::hook_claim, {keys.hook(claim.room), keys.log(claim.room)},
                           {claim.owner, std::to_string(claim.lease_ms)}),
    [](const redis_reply& r) -> std::optional<hook_lease> {
      if (!is_array(r, 3))
        return std::nullopt;
      auto cursor = message_id::parse(r.elements[1].str);
      if (!cursor)
        return std::nullopt;
      hook_lease lease;
      lease.granted = r.elements[0].integer >= 1;
      lease.took_over = r.elements[0].integer == 2;
      lease.cursor = *cursor;
      lease.failing_since_ms = std::strtoll(r.elements[2].str.c_str(), nullptr, 10);
      return lease;
    });
}

caf::result<bool> entry_feed::move_hook(const hook_progress& p) {
  return calls_.answer<bool>(
    redis_call::run_script(scripts::hook_move, {core_.keys.hook(p.room)},
                           {p.owner, p.cursor.to_string(), std::to_string(p.failing_since_ms),
                            p.release ? "1" : "0", std::to_string(p.lease_ms)}),
    [](const redis_reply& r) -> std::optional<bool> {
      if (r.type != redis_reply::kind::integer)
        return std::nullopt;
      return r.integer == 1;
    });
}

caf::result<entry_batch> entry_feed::entries(const entries_query& query) {
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

void entry_feed::note_archived(const archived_mark& m) {
  calls_.send(redis_call::run_script(scripts::archived, {core_.keys.archived(m.room)}, {m.mark.to_string()}),
              [](redis_reply) {});
}

bool entry_feed::older_archived(const std::vector<redis_reply>& entries) const {
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

#pragma once
// The Redis bridge's side of those that follow every room's entries in
// order, each from a cursor of its own: the archive (its mark) and, in 1.2,
// the webhooks (their cursor and lease). Which of them to tell of entries
// stored or seen, what the stream holds for them, and a room's entries read
// back from its stream.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <tuple>
#include <vector>

namespace chatnode::bridge {

class entry_feed {
public:
  entry_feed(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// Whether an archive takes this node's entries.
  bool active() const { return static_cast<bool>(archive_); }
  /// Entries per room held for the archive at most.
  std::uint64_t hold() const { return hold_; }
  /// (1.2) Entries of `room` held for the webhooks at most, as store.lua
  /// takes it: empty when the webhooks do not take the room.
  std::string hook_hold(const std::string& room) const;
  /// Tells the archive and the webhooks (those there are) that a room has an entry up to `id`.
  void tell(const std::string& room, message_id id, bool stored_here);
  /// With an archive, a page that reached the oldest retained message still
  /// has `more` when messages were stored before it: `entries` (a script's
  /// answer, in any order) decide.
  bool older_archived(const std::vector<redis_reply>& entries) const;

  auto handlers() {
    return std::make_tuple(
      [this](entries_atom, const entries_query& query) -> caf::result<entry_batch> { return entries(query); },
      [this](archiver_atom, const archive_actor& archive, std::uint64_t hold) {
        archive_ = archive;
        hold_ = hold;
      },
      [this](archived_atom, const archived_mark& m) { note_archived(m); },
      [this](hooker_atom, const webhook_actor& webhooks, std::uint64_t hold, bool private_rooms) {
        webhooks_ = webhooks;
        hook_hold_ = hold;
        hook_private_ = private_rooms;
      },
      [this](hookclaim_atom, const hook_claim_request& claim) -> caf::result<hook_lease> {
        return claim_hook(claim);
      },
      [this](hookmove_atom, const hook_progress& p) -> caf::result<bool> { return move_hook(p); });
  }

private:
  /// A room's entries after a mark, as published, up to what readers may see.
  caf::result<entry_batch> entries(const entries_query& query);
  /// The archive holds a room's entries up to a mark: store.lua may trim them.
  void note_archived(const archived_mark& m);
  caf::result<hook_lease> claim_hook(const hook_claim_request& claim);
  caf::result<bool> move_hook(const hook_progress& p);
  bool hooked(const std::string& room) const {
    return webhooks_ != nullptr && webhook_room(room, hook_private_);
  }

  bridge_core& core_;
  redis_calls& calls_;
  archive_actor archive_; ///< none without an archive
  std::uint64_t hold_ = 0;
  webhook_actor webhooks_; ///< none without webhooks
  std::uint64_t hook_hold_ = 0;
  bool hook_private_ = false;
};

} // namespace chatnode::bridge

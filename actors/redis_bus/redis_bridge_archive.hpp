#pragma once
// The Redis bridge's side of the archive: which archive to tell of entries
// stored or seen, the archive's marks, and a room's entries read back from
// its stream for it.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include <tuple>
#include <vector>

namespace chatnode::bridge {

class archive_feed {
public:
  archive_feed(bridge_core& core, redis_calls& calls)
    : core_(core),
      calls_(calls) {}

  /// Whether an archive takes this node's entries.
  bool active() const { return static_cast<bool>(archive_); }
  /// Entries per room held for the archive at most.
  std::uint64_t hold() const { return hold_; }
  /// Tells the archive (if any) that a room has an entry up to `id`.
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
      [this](archived_atom, const archived_mark& m) { note_archived(m); });
  }

private:
  /// A room's entries after a mark, as published, up to what readers may see.
  caf::result<entry_batch> entries(const entries_query& query);
  /// The archive holds a room's entries up to a mark: store.lua may trim them.
  void note_archived(const archived_mark& m);

  bridge_core& core_;
  redis_calls& calls_;
  archive_actor archive_; ///< none without an archive
  std::uint64_t hold_ = 0;
};

} // namespace chatnode::bridge

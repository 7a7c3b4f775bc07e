#pragma once
// (1.2) What the actors need of the file store: what an uploaded file is
// (and whose, for which room), and removing files whose message is gone.
// The node implements it over its store; the actors see only this.
//
// A look-up answers through a callback, at once (the directory store reads
// small files in the page cache) or later from another thread (a store
// behind the network): an actor never waits on the store. The other calls
// return at once; what they start runs on the node's threads.

#include "actors/contracts/chat_types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chatnode {

/// An uploaded file and who uploaded it where.
struct uploaded_file {
  shared_file file;
  std::string user;
  std::string room;
  bool sent = false; ///< shared in a message already
};

class file_catalog {
public:
  virtual ~file_catalog() = default;
  /// What a look-up found: each id's file in order (none: not stored), or
  /// that the store could not be asked.
  struct found_files {
    std::vector<std::optional<uploaded_file>> files;
    bool failed = false;
  };
  /// Looks up `ids`; `done` runs once, on any thread, maybe before this returns.
  virtual void look_up(const std::vector<std::string>& ids, std::function<void(found_files)> done) const = 0;
  /// Counts `bytes` against `user`'s uploads of the day (UTC); false, and
  /// nothing counted, when that would pass `daily_limit`.
  virtual bool reserve(const std::string& user, std::uint64_t bytes, std::uint64_t daily_limit) const = 0;
  /// Notes that the files were shared in a message: kept from now on until
  /// the message goes (an upload never sent is removed after a day).
  virtual void mark_sent(const std::vector<std::string>& ids) const = 0;
  /// Removes the files (and their thumbnails); ids not stored are skipped.
  virtual void remove(const std::vector<std::string>& ids) const = 0;
  /// Whether the store took a write when it was last checked: while it does
  /// not, uploads answer `unavailable` (chat goes on).
  virtual bool reachable() const = 0;
};

} // namespace chatnode

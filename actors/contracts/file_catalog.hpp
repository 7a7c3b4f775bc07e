#pragma once
// (1.2) What the actors need of the file store: what an uploaded file is
// (and whose, for which room), and removing files whose message is gone.
// The node implements it over its store; the actors see only this.
//
// Calls are synchronous: the directory store answers from small files in
// the page cache. A store behind the network would answer from records the
// bus keeps instead, never by a request from an actor's thread.

#include "actors/contracts/chat_types.hpp"

#include <cstdint>
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
  /// The stored files among `ids`, in their order; none for one not stored.
  virtual std::vector<std::optional<uploaded_file>> look_up(const std::vector<std::string>& ids) const = 0;
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

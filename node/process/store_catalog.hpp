#pragma once
// The file catalog the actors use (actors/contracts/file_catalog.hpp), over
// the node's file store, with the day's upload quota of each user (this
// node's alone: the embedded default is one node).

#include "actors/contracts/file_catalog.hpp"
#include "node/files/file_store.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace chatnode {

class store_catalog : public file_catalog {
public:
  /// `up` says whether the store took its last probe (file_stats::store_up).
  store_catalog(file_store& store, const std::atomic<bool>& up)
    : store_(store),
      up_(up) {}

  /// Describes the files all at once; answers when the last is described.
  void look_up(const std::vector<std::string>& ids, std::function<void(found_files)> done) const override;
  bool reserve(const std::string& user, std::uint64_t bytes, std::uint64_t daily_limit) const override;
  void mark_sent(const std::vector<std::string>& ids) const override;
  void remove(const std::vector<std::string>& ids) const override;
  bool reachable() const override { return up_.load(std::memory_order_relaxed); }

private:
  file_store& store_;
  const std::atomic<bool>& up_;
  /// Bytes each user announced today: the day they count for, and the sum.
  mutable std::mutex quota_mutex_;
  mutable std::int64_t quota_day_ = -1;
  mutable std::unordered_map<std::string, std::uint64_t> announced_;
};

} // namespace chatnode

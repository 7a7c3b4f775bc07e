#pragma once
// The file catalog the actors use (actors/contracts/file_catalog.hpp), over
// the node's file store, with the day's upload quota of each user (this
// node's alone: the embedded default is one node).

#include "actors/contracts/file_catalog.hpp"
#include "node/files/directory_store.hpp"

#include <mutex>
#include <unordered_map>

namespace chatnode {

class store_catalog : public file_catalog {
public:
  explicit store_catalog(const directory_store& store)
    : store_(store) {}

  std::vector<std::optional<uploaded_file>> look_up(const std::vector<std::string>& ids) const override;
  bool reserve(const std::string& user, std::uint64_t bytes, std::uint64_t daily_limit) const override;
  void mark_sent(const std::vector<std::string>& ids) const override;
  void remove(const std::vector<std::string>& ids) const override;

private:
  const directory_store& store_;
  /// Bytes each user announced today: the day they count for, and the sum.
  mutable std::mutex quota_mutex_;
  mutable std::int64_t quota_day_ = -1;
  mutable std::unordered_map<std::string, std::uint64_t> announced_;
};

} // namespace chatnode

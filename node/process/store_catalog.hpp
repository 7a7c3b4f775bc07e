#pragma once
// The file catalog the actors use (actors/contracts/file_catalog.hpp), over
// the node's file store.

#include "actors/contracts/file_catalog.hpp"
#include "node/files/directory_store.hpp"

namespace chatnode {

class store_catalog : public file_catalog {
public:
  explicit store_catalog(const directory_store& store)
    : store_(store) {}

  std::vector<std::optional<uploaded_file>> look_up(const std::vector<std::string>& ids) const override;
  void mark_sent(const std::vector<std::string>& ids) const override;
  void remove(const std::vector<std::string>& ids) const override;

private:
  const directory_store& store_;
};

} // namespace chatnode

#include "node/process/store_catalog.hpp"

#include "actors/contracts/upload_ticket.hpp"

namespace chatnode {

std::vector<std::optional<uploaded_file>> store_catalog::look_up(const std::vector<std::string>& ids) const {
  std::vector<std::optional<uploaded_file>> found;
  for (const auto& id : ids) {
    auto d = valid_file_id(id) ? store_.describe(id) : std::nullopt;
    if (!d) {
      found.emplace_back();
      continue;
    }
    found.push_back(uploaded_file{
      {d->id, d->name, d->mime, d->size, d->width, d->height, !d->thumb_mime.empty()}, d->user, d->room});
  }
  return found;
}

void store_catalog::mark_sent(const std::vector<std::string>& ids) const {
  for (const auto& id : ids)
    if (valid_file_id(id))
      store_.mark_sent(id);
}

void store_catalog::remove(const std::vector<std::string>& ids) const {
  for (const auto& id : ids)
    if (valid_file_id(id))
      store_.remove(id);
}

} // namespace chatnode

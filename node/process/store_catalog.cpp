#include "node/process/store_catalog.hpp"

#include "actors/contracts/upload_ticket.hpp"

#include <ctime>

namespace chatnode {

std::vector<std::optional<uploaded_file>> store_catalog::look_up(const std::vector<std::string>& ids) const {
  std::vector<std::optional<uploaded_file>> found;
  for (const auto& id : ids) {
    auto d = valid_file_id(id) ? store_.describe(id) : std::nullopt;
    if (!d) {
      found.emplace_back();
      continue;
    }
    found.push_back(
      uploaded_file{{d->id, d->name, d->mime, d->size, d->width, d->height, !d->thumb_mime.empty()},
                    d->user,
                    d->room,
                    d->sent});
  }
  return found;
}

bool store_catalog::reserve(const std::string& user, std::uint64_t bytes, std::uint64_t daily_limit) const {
  auto day = static_cast<std::int64_t>(std::time(nullptr)) / 86400;
  std::lock_guard lock{quota_mutex_};
  if (day != quota_day_) {
    announced_.clear();
    quota_day_ = day;
  }
  auto& used = announced_[user];
  if (used + bytes > daily_limit)
    return false;
  used += bytes;
  return true;
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

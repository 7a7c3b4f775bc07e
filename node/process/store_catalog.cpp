#include "node/process/store_catalog.hpp"

#include "actors/contracts/upload_ticket.hpp"

#include <ctime>
#include <memory>
#include <mutex>

namespace chatnode {

void store_catalog::look_up(const std::vector<std::string>& ids,
                            std::function<void(found_files)> done) const {
  // The answers come in any order, maybe on several threads.
  struct gathering {
    std::mutex mutex;
    found_files answer;
    std::size_t waiting = 0;
    std::function<void(found_files)> done;
  };
  auto all = std::make_shared<gathering>();
  all->answer.files.resize(ids.size());
  all->waiting = ids.size();
  all->done = std::move(done);
  auto settle = [all](std::size_t i, std::optional<uploaded_file> file, bool failed) {
    std::unique_lock lock{all->mutex};
    all->answer.files[i] = std::move(file);
    all->answer.failed = all->answer.failed || failed;
    if (--all->waiting > 0)
      return;
    lock.unlock();
    all->done(std::move(all->answer));
  };
  if (ids.empty()) {
    all->done({});
    return;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!valid_file_id(ids[i])) {
      settle(i, std::nullopt, false);
      continue;
    }
    store_.describe(ids[i], [settle, i](std::optional<stored_file> d, store_error error) {
      if (!error.empty() || !d) {
        settle(i, std::nullopt, !error.empty());
        return;
      }
      settle(i,
             uploaded_file{{d->id, d->name, d->mime, d->size, d->width, d->height, !d->thumb_mime.empty()},
                           d->user,
                           d->room,
                           d->sent},
             false);
    });
  }
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

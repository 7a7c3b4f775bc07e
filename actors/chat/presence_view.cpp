#include "actors/chat/presence_view.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace chatnode {

void presence_view::hold_early(const presence_event& event) {
  if (early_.size() < max_early_presence)
    early_.push_back(event);
  else
    ask_again_ = true;
}

std::vector<presence_event> presence_view::start(const std::vector<std::string>& members,
                                                 std::uint64_t version) {
  known_ = true;
  names_ = {members.begin(), members.end()};
  version_ = version;
  return std::exchange(early_, {});
}

presence_view::applied presence_view::apply(const presence_event& event) {
  if (event.version <= version_)
    return {}; // the view already reflects it
  applied result;
  result.gap = event.version > version_ + 1;
  version_ = event.version;
  result.changed = event.present ? names_.insert(event.user).second : names_.erase(event.user) > 0;
  if (asking_) {
    if (since_asked_.size() < max_logged_presence || since_asked_.contains(event.user))
      since_asked_.insert_or_assign(event.user, event);
    else
      ask_again_ = true;
  }
  return result;
}

bool presence_view::begin_asking() {
  if (!known_ || asking_) {
    ask_again_ = true; // after the first snapshot, or after this answer
    return false;
  }
  asking_ = true;
  asked_at_ = version_;
  return true;
}

void presence_view::abandon_asking() {
  asking_ = false;
  since_asked_.clear();
}

presence_view::reconciled presence_view::reconcile(const presence_snapshot& truth) {
  asking_ = false;
  auto since_asked = std::exchange(since_asked_, {});
  std::set<std::string> names(truth.members.begin(), truth.members.end());
  auto version = truth.version;
  if (truth.version >= asked_at_) {
    // Events the answer is older than came meanwhile: they hold.
    for (const auto& [name, event] : since_asked) {
      if (event.version <= truth.version)
        continue;
      if (event.present)
        names.insert(name);
      else
        names.erase(name);
      version = std::max(version, event.version);
    }
  } // else the bus started its versions over (it lost its data): its answer is all there is.
  reconciled result;
  result.corrected = version < version_ || names != names_;
  std::set_difference(names.begin(), names.end(), names_.begin(), names_.end(),
                      std::back_inserter(result.came));
  std::set_difference(names_.begin(), names_.end(), names.begin(), names.end(),
                      std::back_inserter(result.went));
  names_ = std::move(names);
  version_ = version;
  return result;
}

} // namespace chatnode

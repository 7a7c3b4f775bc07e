#include "actors/told_presence.hpp"

#include <algorithm>

namespace chatnode {

void listed_names::extend(const member_page& page) {
  if (all)
    return;
  if (!page.more)
    all = true;
  else if (!page.names.empty() && page.names.back() > last)
    last = page.names.back();
}

std::pair<std::size_t, std::size_t> heard_by(const presence_changes& changes, const listed_names& listed) {
  if (listed.all)
    return {changes.joins.size(), changes.leaves.size()};
  auto within = [&](const std::vector<std::string>& names) {
    return static_cast<std::size_t>(std::upper_bound(names.begin(), names.end(), listed.last) -
                                    names.begin());
  };
  return {within(changes.joins), within(changes.leaves)};
}

void told_presence::apply(const std::string& name, bool present) {
  pending_.erase(name);
  if (present)
    names_.insert(name);
  else
    names_.erase(name);
}

void told_presence::note(const std::string& name, bool present) {
  if (auto it = pending_.find(name); it != pending_.end()) {
    if (it->second != present)
      pending_.erase(it); // back to what the members were told
    return;
  }
  if (names_.contains(name) != present)
    pending_.emplace(name, present);
}

presence_changes told_presence::take() {
  presence_changes changes;
  changes.count_before = names_.size();
  for (auto& [name, present] : pending_) { // name order
    if (present) {
      names_.insert(name);
      changes.joins.push_back(name);
    } else {
      names_.erase(name);
      changes.leaves.push_back(name);
    }
  }
  pending_.clear();
  changes.count = names_.size();
  return changes;
}

member_page told_presence::page(const std::optional<std::string>& after, std::size_t limit) const {
  member_page page;
  page.count = names_.size();
  auto it = after ? names_.upper_bound(*after) : names_.begin();
  for (; it != names_.end() && page.names.size() < limit; ++it)
    page.names.push_back(*it);
  page.more = it != names_.end();
  return page;
}

} // namespace chatnode

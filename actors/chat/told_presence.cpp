#include "actors/chat/told_presence.hpp"

#include <algorithm>
#include <iterator>

namespace chatnode {

void member_window::extend(const member_page& page) {
  if (kind == reach::asked_all)
    return;
  if (!page.more) {
    // Asked to the end: it keeps every name. This holds for a member given
    // every name while the room was small too: the room's first batch as a
    // big one may still be on its way, and must not cut it to the first page.
    kind = reach::asked_all;
  } else if (kind == reach::given_all) {
    return; // holds every name until a batch says the room is big
  } else if (!page.names.empty() && (kind == reach::first_page || page.names.back() > last)) {
    kind = reach::asked_upto;
    last = page.names.back();
  }
}

void member_window::after_batch(bool big) {
  if (big && kind == reach::given_all) {
    kind = reach::first_page;
  } else if (!big && (kind == reach::first_page || kind == reach::asked_upto)) {
    kind = reach::given_all;
    last.clear();
  }
}

list_diff batch_diff(const member_window& window, const presence_changes& changes,
                     const member_page& first_before, const member_page& first_after) {
  using reach = member_window::reach;
  bool big = first_after.more;
  switch (window.kind) {
    case reach::given_all:
      if (big) { // cut to the first page
        auto diff = changes_upto(changes, first_after.names.back());
        diff.upto = first_after.names.back();
        return diff;
      }
      break;
    case reach::first_page: return first_page_diff(first_before, first_after);
    case reach::asked_upto: {
      auto diff = changes_upto(changes, window.last);
      if (!big) // the rest of a list that is small now
        for (const auto& name : first_after.names)
          if (name > window.last)
            diff.add.push_back(name);
      return diff;
    }
    case reach::asked_all: break;
  }
  return {changes.joins, changes.leaves, {}};
}

list_diff first_page_diff(const member_page& before, const member_page& after) {
  list_diff diff;
  std::set_difference(after.names.begin(), after.names.end(), before.names.begin(), before.names.end(),
                      std::back_inserter(diff.add));
  std::set_difference(before.names.begin(), before.names.end(), after.names.begin(), after.names.end(),
                      std::back_inserter(diff.remove));
  if (after.more)
    diff.upto = after.names.back();
  return diff;
}

list_diff changes_upto(const presence_changes& changes, const std::string& last) {
  auto prefix = [&](const std::vector<std::string>& names) {
    return std::vector<std::string>(names.begin(), std::upper_bound(names.begin(), names.end(), last));
  };
  return {prefix(changes.joins), prefix(changes.leaves), {}};
}

void add_own_name(member_page& page, const std::optional<std::string>& after, const std::string& own) {
  ++page.count;
  if (after && own <= *after)
    return; // before the page
  if (page.more && (page.names.empty() || own > page.names.back()))
    return; // past the page
  page.names.insert(std::lower_bound(page.names.begin(), page.names.end(), own), own);
}

void keep_own_name(list_diff& diff, const std::string& own) {
  std::erase(diff.remove, own);
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

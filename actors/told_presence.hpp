#pragma once
// Who a room's members on this node have been told is present, and the
// changes not told yet. A small room's members hear each change at once; a
// big room's hear the changes of an interval together, one diff each, so a
// storm of joins is a few frames per member instead of one per join. A
// member of a big room holds only the names it has listed (its `joined`
// page and the `members` pages after it): its diff names only changes up to
// the last name it holds, and the count. Pure logic, no actors.

#include <cstddef>
#include <optional>
#include <set>
#include <map>
#include <string>
#include <vector>

namespace chatnode {

/// A page of member names in name order.
struct member_page {
  std::vector<std::string> names;
  std::size_t count = 0; ///< names in the room
  bool more = false;     ///< names follow the last one
};

/// The changes of an interval, each name once, in name order.
struct presence_changes {
  std::vector<std::string> joins;
  std::vector<std::string> leaves;
  std::size_t count = 0;        ///< names in the room after them
  std::size_t count_before = 0; ///< names before them
};

/// How far a member's list reaches: every name, or names up to `last`.
struct listed_names {
  bool all = true;
  std::string last;

  /// After a page: a page with nothing after it lists the rest.
  void extend(const member_page& page);
  bool holds(const std::string& name) const { return all || name <= last; }
};

/// How many of the changes' joins and leaves (prefixes, in name order) a
/// member listing `listed` hears.
std::pair<std::size_t, std::size_t> heard_by(const presence_changes& changes, const listed_names& listed);

class told_presence {
public:
  /// A change told to the members at once.
  void apply(const std::string& name, bool present);
  /// A change to tell with the next batch; one that undoes a change not
  /// told yet leaves nothing to tell.
  void note(const std::string& name, bool present);
  /// Whether changes wait for the next batch.
  bool pending() const { return !pending_.empty(); }
  /// The changes waiting, now counted as told.
  presence_changes take();

  std::size_t count() const { return names_.size(); }
  bool contains(const std::string& name) const { return names_.contains(name); }
  /// Up to `limit` told names after `after` (from the first with none).
  member_page page(const std::optional<std::string>& after, std::size_t limit) const;

private:
  std::set<std::string> names_;
  std::map<std::string, bool> pending_; ///< name -> present, where it differs from names_
};

} // namespace chatnode

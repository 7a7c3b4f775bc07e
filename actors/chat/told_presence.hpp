#pragma once
// Who a room's members on this node have been told is present, and the
// changes not told yet. A small room's members hear each change at once; a
// big room's hear the changes of an interval together, one diff each, so a
// storm of joins is a few frames per member instead of one per join.
//
// A member of a big room holds only part of the list: the room's first page
// (what `joined` gives, kept as the first page while names come and go), or
// the names up to the last one it asked for with `members` pages, or all of
// them once it paged to the end. Its diffs change only what it holds, so a
// join costs it bytes only where the name falls in its part. Pure logic, no
// actors.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
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

/// What a member's list changes by: names to add and to remove, in name
/// order, and `upto` when it holds the names up to that one only.
struct list_diff {
  std::vector<std::string> add;
  std::vector<std::string> remove;
  std::string upto;

  bool empty() const { return add.empty() && remove.empty(); }
};

/// Which names a member holds.
struct member_window {
  enum class reach {
    given_all,  ///< every name, given by a `joined` while the room was small
    first_page, ///< the room's first page, as it moves
    asked_upto, ///< names up to `last`, asked for with `members`
    asked_all,  ///< every name, asked for to the end
  };
  reach kind = reach::given_all;
  std::string last; ///< asked_upto

  /// After a `members` page it asked for.
  void extend(const member_page& page);
  /// After a batch: a member given every name while the room was small
  /// holds the first page once it is `big`; any member holds every name
  /// once it is small.
  void after_batch(bool big);
};

/// What a batch changes in the list of a member holding `window`, given the
/// room's first page before and after it.
list_diff batch_diff(const member_window& window, const presence_changes& changes,
                     const member_page& first_before, const member_page& first_after);
/// The first page's diff between two of its states.
list_diff first_page_diff(const member_page& before, const member_page& after);
/// The changes among the names up to `last`, for a member holding those.
list_diff changes_upto(const presence_changes& changes, const std::string& last);

// A member always holds its own name, whether the told names have it or
// not: nobody is told of their own comings and goings, its join may still
// be on its way from the bus, and the bus may have taken a member of a node
// cut off from it for gone. These make a page or diff what such a member
// holds; its count is one more than the room's.

/// The page of names after `after`, with `own` where it falls and counted.
void add_own_name(member_page& page, const std::optional<std::string>& after, const std::string& own);
/// The diff without `own` among the names to remove.
void keep_own_name(list_diff& diff, const std::string& own);

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

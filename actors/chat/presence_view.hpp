#pragma once
// Who the room's members on this node have been told is present, as of a
// presence version. Every joined member shares this one view: events that
// would not change it (a join of someone present, say, after this node
// missed their leave) reach nobody, and a gap in the versions or a word
// from the bus brings it back in line with the bus's answer, asked one
// query at a time. Pure logic, no actors: the hub sends the queries and
// tells the members what changed.

#include "actors/contracts/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace chatnode {

class presence_view {
public:
  /// Events held before the first snapshot: what can happen in a room
  /// during one snapshot query; past that the bus is asked instead.
  static constexpr std::size_t max_early_presence = 1000;
  /// Names whose events are remembered while a query is out; past that the
  /// bus is asked again after its answer.
  static constexpr std::size_t max_logged_presence = 10000;

  /// What an event did to the view.
  struct applied {
    bool changed = false; ///< a name came or went: the members hear of it
    bool gap = false;     ///< versions were missed: the bus must be asked
  };

  /// What the bus's answer changed, each in name order.
  struct reconciled {
    std::vector<std::string> came;
    std::vector<std::string> went;
    bool corrected = false; ///< the view was behind the answer or differed from it
  };

  /// Whether the first snapshot has set the view.
  bool known() const { return known_; }
  const std::set<std::string>& names() const { return names_; }
  std::uint64_t version() const { return version_; }

  /// Holds an event that came before the first snapshot (the view is not
  /// known yet), to be applied after it.
  void hold_early(const presence_event& event);
  /// Sets the view from the first snapshot; returns the events held before
  /// it, which the caller applies in order.
  std::vector<presence_event> start(const std::vector<std::string>& members, std::uint64_t version);
  /// Applies an event in version order, once the view is known: one not
  /// newer than the view is already reflected and changes nothing.
  applied apply(const presence_event& event);

  /// Whether a query for who is there goes out now, at the view's version:
  /// not before the first snapshot nor while one is out, and then the bus
  /// is asked again after it.
  bool begin_asking();
  /// The query got no answer (the bus says resync once it can answer).
  void abandon_asking();
  /// The bus's answer to the query: the view becomes it, except that events
  /// newer than the answer that came meanwhile hold; a bus that started its
  /// versions over (it lost its data) is believed whole.
  reconciled reconcile(const presence_snapshot& truth);
  /// Whether the bus must be asked again: a gap or resync came while
  /// asking, or more events than the bounds hold. Clears it.
  bool take_ask_again() { return std::exchange(ask_again_, false); }

private:
  bool known_ = false;
  std::set<std::string> names_;
  std::uint64_t version_ = 0;
  std::vector<presence_event> early_; ///< came before the view was known
  /// While a query is out: the version asked at, and the newest event per
  /// name applied since (an answer may be older than some of them).
  bool asking_ = false;
  std::uint64_t asked_at_ = 0;
  std::map<std::string, presence_event> since_asked_;
  bool ask_again_ = false;
};

} // namespace chatnode

// The presence view on its own: events apply in version order, those before
// the first snapshot after it, a gap or a resync asks the bus one query at a
// time, and its answer is taken with the events newer than it, or whole
// when the bus started its versions over.

#include "actors/chat/presence_view.hpp"

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

using namespace chatnode;

namespace {

using names = std::vector<std::string>;
using name_set = std::set<std::string>;

presence_event came(std::uint64_t version, const std::string& user) {
  return presence_event{version, user, true, nullptr};
}

presence_event went(std::uint64_t version, const std::string& user) {
  return presence_event{version, user, false, nullptr};
}

/// A view from a first snapshot with no events before it.
presence_view view_of(const names& members, std::uint64_t version) {
  presence_view view;
  view.start(members, version);
  return view;
}

} // namespace

BOOST_AUTO_TEST_SUITE(presence_view_rules)

BOOST_AUTO_TEST_CASE(events_before_the_first_snapshot_are_applied_after_it) {
  presence_view view;
  BOOST_TEST(!view.known());
  view.hold_early(came(5, "alice")); // in the snapshot already
  view.hold_early(came(6, "bob"));
  auto early = view.start({"alice"}, 5);
  BOOST_TEST(view.known());
  BOOST_REQUIRE(early.size() == 2u);
  BOOST_TEST(!view.apply(early[0]).changed);
  auto bob = view.apply(early[1]);
  BOOST_TEST(bob.changed);
  BOOST_TEST(!bob.gap);
  BOOST_TEST(view.names() == name_set({"alice", "bob"}));
  BOOST_TEST(view.version() == 6u);
  BOOST_TEST(!view.take_ask_again());
}

BOOST_AUTO_TEST_CASE(a_query_before_the_first_snapshot_is_asked_after_it) {
  presence_view view;
  BOOST_TEST(!view.begin_asking()); // a resync before anything is known
  view.start({"alice"}, 5);
  BOOST_TEST(view.take_ask_again());
  BOOST_TEST(view.begin_asking());
}

BOOST_AUTO_TEST_CASE(an_event_not_newer_than_the_view_changes_nothing) {
  auto view = view_of({"alice", "bob"}, 5);
  auto old = view.apply(went(4, "bob"));
  BOOST_TEST(!old.changed);
  BOOST_TEST(!old.gap);
  BOOST_TEST(!view.apply(came(5, "carol")).changed); // the snapshot reflects it
  BOOST_TEST(view.names() == name_set({"alice", "bob"}));
  BOOST_TEST(view.version() == 5u);
  // Newer but saying what the view holds: the version moves, the names do not.
  BOOST_TEST(!view.apply(came(6, "bob")).changed);
  BOOST_TEST(!view.apply(went(7, "carol")).changed);
  BOOST_TEST(view.version() == 7u);
}

BOOST_AUTO_TEST_CASE(a_gap_asks_the_bus_and_a_gap_while_asking_asks_again) {
  auto view = view_of({"alice"}, 5);
  BOOST_TEST(!view.apply(came(6, "bob")).gap);
  auto skipped = view.apply(came(8, "carol")); // 7 never came
  BOOST_TEST(skipped.gap);
  BOOST_TEST(skipped.changed);
  BOOST_TEST(view.begin_asking());
  BOOST_TEST(view.apply(came(10, "dave")).gap);
  BOOST_TEST(!view.begin_asking()); // one query at a time
  view.reconcile(presence_snapshot{{"alice", "bob", "carol", "dave"}, 10});
  BOOST_TEST(view.take_ask_again());
  BOOST_TEST(!view.take_ask_again());
  BOOST_TEST(view.begin_asking());
}

BOOST_AUTO_TEST_CASE(an_unanswered_query_can_be_asked_again) {
  auto view = view_of({"alice"}, 5);
  BOOST_TEST(view.begin_asking());
  view.abandon_asking();
  BOOST_TEST(!view.take_ask_again());
  BOOST_TEST(view.begin_asking());
}

BOOST_AUTO_TEST_CASE(events_newer_than_the_answer_hold) {
  auto view = view_of({"alice"}, 5);
  BOOST_TEST(view.begin_asking());
  view.apply(came(6, "frank")); // the answer says he left again: it holds
  view.apply(came(7, "erin"));
  view.apply(went(8, "alice")); // newer than the answer: it holds
  BOOST_TEST(view.names() == name_set({"erin", "frank"}));
  auto changes = view.reconcile(presence_snapshot{{"alice", "carol", "erin"}, 7});
  BOOST_TEST(changes.came == names({"carol"}));
  BOOST_TEST(changes.went == names({"frank"}));
  BOOST_TEST(changes.corrected);
  BOOST_TEST(view.names() == name_set({"carol", "erin"}));
  BOOST_TEST(view.version() == 8u);
  BOOST_TEST(!view.apply(went(9, "carol")).gap);
}

BOOST_AUTO_TEST_CASE(an_answer_that_changes_nothing_is_no_correction) {
  auto view = view_of({"alice"}, 5);
  BOOST_TEST(view.begin_asking());
  auto changes = view.reconcile(presence_snapshot{{"alice"}, 5});
  BOOST_TEST(changes.came.empty());
  BOOST_TEST(changes.went.empty());
  BOOST_TEST(!changes.corrected);
  BOOST_TEST(!view.take_ask_again());
}

BOOST_AUTO_TEST_CASE(a_bus_that_started_its_versions_over_is_believed_whole) {
  auto view = view_of({"alice", "bob"}, 40);
  view.apply(came(41, "carol"));
  BOOST_TEST(view.begin_asking());
  view.apply(came(42, "dave")); // newer than the answer, but of the old versions
  auto changes = view.reconcile(presence_snapshot{{"alice", "frank"}, 1});
  BOOST_TEST(changes.came == names({"frank"}));
  BOOST_TEST(changes.went == names({"bob", "carol", "dave"}));
  BOOST_TEST(changes.corrected);
  BOOST_TEST(view.version() == 1u);
  auto next = view.apply(came(2, "gina"));
  BOOST_TEST(next.changed);
  BOOST_TEST(!next.gap);
}

BOOST_AUTO_TEST_CASE(an_answer_behind_the_view_is_a_correction) {
  auto view = view_of({"alice"}, 5);
  view.apply(came(6, "bob"));
  view.apply(went(7, "bob"));
  BOOST_TEST(view.begin_asking());
  auto changes = view.reconcile(presence_snapshot{{"alice"}, 5}); // the bus started over
  BOOST_TEST(changes.came.empty());
  BOOST_TEST(changes.went.empty());
  BOOST_TEST(changes.corrected);
  BOOST_TEST(view.version() == 5u);
}

BOOST_AUTO_TEST_CASE(more_early_events_than_held_ask_the_bus) {
  presence_view full;
  presence_view over;
  for (std::uint64_t v = 1; v <= presence_view::max_early_presence; ++v) {
    full.hold_early(came(v, "user" + std::to_string(v)));
    over.hold_early(came(v, "user" + std::to_string(v)));
  }
  over.hold_early(came(presence_view::max_early_presence + 1, "late"));
  BOOST_TEST(full.start({}, 0).size() == presence_view::max_early_presence);
  BOOST_TEST(!full.take_ask_again());
  BOOST_TEST(over.start({}, 0).size() == presence_view::max_early_presence);
  BOOST_TEST(over.take_ask_again());
}

BOOST_AUTO_TEST_CASE(more_names_since_asked_than_logged_ask_again) {
  auto view = view_of({}, 0);
  BOOST_TEST(view.begin_asking());
  std::uint64_t v = 0;
  while (v < presence_view::max_logged_presence) {
    ++v;
    view.apply(came(v, "user" + std::to_string(v)));
  }
  view.apply(went(++v, "user1")); // a name logged already takes no more room
  BOOST_TEST(!view.take_ask_again());
  view.apply(came(++v, "late"));
  BOOST_TEST(view.take_ask_again());
  // The events logged still hold over an answer older than them.
  auto changes = view.reconcile(presence_snapshot{{}, 0});
  BOOST_TEST(changes.went == names({"late"}));
  BOOST_TEST(view.names().size() == presence_view::max_logged_presence - 1);
}

BOOST_AUTO_TEST_SUITE_END()

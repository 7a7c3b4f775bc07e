#include "node/links/replica_waits.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;
using namespace std::chrono_literals;

namespace {
using waits = replica_waits<int>;
const auto t0 = waits::clock::time_point{} + 1h;
} // namespace

BOOST_AUTO_TEST_SUITE(replica_waits_suite)

BOOST_AUTO_TEST_CASE(a_wait_blocks_a_slice_at_most_and_never_for_ever) {
  waits w;
  w.add({1, t0 + 1000ms, 1});
  w.add({2, t0 + 3000ms, 2});
  auto [replicas, timeout] = w.start(t0);
  BOOST_TEST(replicas == 2);
  BOOST_TEST(timeout.count() == waits::slice.count());
  BOOST_TEST(w.answered(2, t0 + 5ms) == (std::vector<int>{1, 2}));
  // Close to the first deadline the WAIT ends there; past it, 1 ms, not 0.
  w.add({1, t0 + 30ms, 3});
  BOOST_TEST(w.start(t0).second.count() == 30);
  w.answered(1, t0);
  w.add({1, t0, 4});
  BOOST_TEST(w.start(t0 + 10ms).second.count() == 1);
}

BOOST_AUTO_TEST_CASE(who_is_short_of_replicas_waits_again_until_its_deadline) {
  waits w;
  w.add({1, t0 + 1000ms, 1});
  w.start(t0);
  w.add({1, t0 + 1050ms, 2}); // answered after that WAIT was sent
  // No replica yet (one attaching after the WAIT started): both go again,
  // the first ahead, in one WAIT that asks the replicas once more.
  BOOST_TEST(w.answered(0, t0 + 100ms).empty());
  BOOST_TEST(w.pending());
  w.start(t0 + 100ms);
  BOOST_TEST(w.answered(1, t0 + 130ms) == (std::vector<int>{1, 2}));
  BOOST_TEST(!w.pending());
}

BOOST_AUTO_TEST_CASE(a_deadline_passed_is_answered_short_and_the_rest_go_on) {
  waits w;
  w.add({1, t0 + 100ms, 1});
  w.add({1, t0 + 900ms, 2});
  w.start(t0);
  BOOST_TEST(w.answered(0, t0 + 100ms) == (std::vector<int>{1}));
  BOOST_TEST(w.pending());
  BOOST_TEST(!w.out());
}

BOOST_AUTO_TEST_CASE(a_failed_wait_or_a_lost_link_answers_everyone) {
  waits w;
  w.add({1, t0 + 1000ms, 1});
  w.start(t0);
  w.add({1, t0 + 1000ms, 2});
  BOOST_TEST(w.failed() == (std::vector<int>{1}));
  BOOST_TEST(w.drop_pending() == (std::vector<int>{2}));
  BOOST_TEST(!w.out());
  BOOST_TEST(!w.pending());
}

BOOST_AUTO_TEST_SUITE_END()

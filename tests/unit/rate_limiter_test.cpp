#include "actors/chat/rate_limiter.hpp"
#include "actors/chat/typing_gate.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(rate)

BOOST_AUTO_TEST_CASE(token_bucket_allows_the_burst_then_the_rate) {
  using namespace std::chrono_literals;
  auto t0 = rate_limiter::clock::time_point{} + 1h;
  rate_limiter limiter{20, 40, t0};
  int taken = 0;
  for (int i = 0; i < 100; ++i)
    taken += limiter.try_take(t0);
  BOOST_TEST(taken == 40);
  // 20 a second: half a second later, 10 more.
  taken = 0;
  for (int i = 0; i < 100; ++i)
    taken += limiter.try_take(t0 + 500ms);
  BOOST_TEST(taken == 10);
  // The bucket never holds more than the burst.
  taken = 0;
  for (int i = 0; i < 100; ++i)
    taken += limiter.try_take(t0 + 1h);
  BOOST_TEST(taken == 40);
}

BOOST_AUTO_TEST_CASE(a_room_relays_one_typing_notice_per_user_per_interval_and_a_few_a_second_in_all) {
  using namespace std::chrono_literals;
  auto t0 = typing_gate::clock::time_point{} + 1h;
  typing_gate gate{5, 1500ms, t0};
  BOOST_TEST(gate.allow("ada", t0));
  BOOST_TEST(!gate.allow("ada", t0 + 1s)); // the same person again says nothing new
  BOOST_TEST(gate.allow("ada", t0 + 1600ms));
  // A thousand typists at once: five go out, then five a second.
  typing_gate big{5, 1500ms, t0};
  int relayed = 0;
  for (int i = 0; i < 1000; ++i)
    relayed += big.allow("user" + std::to_string(i), t0);
  BOOST_TEST(relayed == 5);
  relayed = 0;
  for (int i = 1000; i < 2000; ++i)
    relayed += big.allow("user" + std::to_string(i), t0 + 1s);
  BOOST_TEST(relayed == 5);
}

BOOST_AUTO_TEST_SUITE_END()

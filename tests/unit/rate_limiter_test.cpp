#include "actors/rate_limiter.hpp"

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

BOOST_AUTO_TEST_SUITE_END()

#include "node/links/link_reconnector.hpp"

#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace chatnode;
using namespace std::chrono_literals;

namespace {

long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
    .count();
}

/// A reconnector on its own strand, counting the attempts it makes.
struct fixture {
  fixture(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : strand(boost::asio::make_strand(ioc)),
      reconnector(strand, min, max) {}

  std::optional<std::chrono::milliseconds> lose() {
    return reconnector.retry_later([this] { ++attempts; });
  }

  boost::asio::io_context ioc;
  link_reconnector::strand strand;
  link_reconnector reconnector;
  int attempts = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(link_reconnector_skeleton)

BOOST_AUTO_TEST_CASE(a_loss_makes_one_attempt_after_the_backoff) {
  fixture f{40ms, 40ms};
  auto lost_at = std::chrono::steady_clock::now();
  auto delay = f.lose();
  BOOST_TEST_REQUIRE(delay.has_value());
  BOOST_TEST(delay->count() >= 20); // jitter keeps at least half
  BOOST_TEST(delay->count() <= 40);
  f.ioc.run();
  BOOST_TEST(f.attempts == 1);
  BOOST_TEST(ms_since(lost_at) >= delay->count());
}

BOOST_AUTO_TEST_CASE(a_loss_while_an_attempt_waits_does_not_add_another) {
  fixture f{10ms, 10ms};
  f.lose();
  f.lose();
  f.ioc.run();
  BOOST_TEST(f.attempts == 1);
}

BOOST_AUTO_TEST_CASE(a_success_starts_the_backoff_from_the_minimum_again) {
  fixture f{8ms, 10s};
  std::chrono::milliseconds before_success{0};
  for (int i = 0; i < 5; ++i)
    before_success = f.lose().value();
  BOOST_TEST(before_success.count() >= 64); // each loss doubles the delay: 8, 16, 32, 64, 128
  f.reconnector.connected();
  BOOST_TEST(f.lose().value().count() <= 8);
  f.ioc.run();
  BOOST_TEST(f.attempts == 1);
}

BOOST_AUTO_TEST_CASE(stop_cancels_a_waiting_attempt) {
  fixture f{10s, 10s};
  f.lose();
  f.reconnector.stop();
  auto stopped_at = std::chrono::steady_clock::now();
  f.ioc.run(); // returns at once: nothing waits any more
  BOOST_TEST(f.attempts == 0);
  BOOST_TEST(ms_since(stopped_at) < 1000);
  BOOST_TEST(f.reconnector.stopped());
}

BOOST_AUTO_TEST_CASE(no_loss_is_retried_after_stop) {
  fixture f{1ms, 1ms};
  f.reconnector.stop();
  BOOST_TEST(!f.lose().has_value());
  f.ioc.run();
  BOOST_TEST(f.attempts == 0);
}

BOOST_AUTO_TEST_CASE(an_attempt_already_due_when_stop_comes_is_not_made) {
  fixture f{1ms, 1ms};
  // The attempt falls due while the strand is busy, so its handler is queued
  // behind the one that stops: cancelling the timer can no longer reach it.
  boost::asio::post(f.strand, [&f] {
    f.lose();
    std::this_thread::sleep_for(50ms);
    f.reconnector.stop();
  });
  std::thread second{[&f] { f.ioc.run(); }};
  f.ioc.run();
  second.join();
  BOOST_TEST(f.attempts == 0);
}

BOOST_AUTO_TEST_SUITE_END()

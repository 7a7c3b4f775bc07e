#include "node/edge/io_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace chatnode;
using namespace std::chrono_literals;

namespace {

/// Records what its worker hands it, the way a connection would see it.
class recording_connection : public pinned_connection,
                             public std::enable_shared_from_this<recording_connection> {
public:
  explicit recording_connection(io_worker& worker)
    : worker_(worker) {}

  void take(frame_ptr frame, std::int64_t) override { taken.push_back(*frame); }
  void flush() override {
    flushed_batches.push_back(taken.size() - written);
    if (defer_next) {
      defer_next = false;
      deferred_at = std::chrono::steady_clock::now();
      worker_.defer(shared_from_this(), steady_now_ns() + defer_for.count());
      return;
    }
    written = taken.size();
  }
  void flush_deferred() override {
    deferred_flushed_at = std::chrono::steady_clock::now();
    written = taken.size();
  }
  bool check_idle(std::int64_t) override { return ++sweeps < sweeps_wanted; }

  std::size_t sweeps = 0;
  std::size_t sweeps_wanted = 0;

  std::vector<std::string> taken;
  std::vector<std::size_t> flushed_batches; ///< events new at each flush
  std::size_t written = 0;
  bool defer_next = false;
  std::chrono::nanoseconds defer_for{0}; ///< how long after now the deferred flush is due
  std::chrono::steady_clock::time_point deferred_at, deferred_flushed_at;

private:
  io_worker& worker_;
};

/// Runs `f` on the worker's thread and waits for it.
template <class F>
void on_worker(io_worker& worker, F f) {
  std::promise<void> done;
  boost::asio::post(worker.context(), [&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

/// Delivers one event to a connection that defers its flush by `due_in`
/// on a worker with interval `coalesce`; returns how long the flush waited.
std::chrono::steady_clock::duration deferred_wait(std::chrono::nanoseconds coalesce,
                                                  std::chrono::nanoseconds due_in) {
  io_worker worker{coalesce};
  auto c = std::make_shared<recording_connection>(worker);
  c->defer_next = true;
  c->defer_for = due_in;
  std::thread runner{[&] { worker.run(); }};
  worker.deliver(c, make_frame("x"), 0);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  bool flushed = false;
  while (!flushed && std::chrono::steady_clock::now() < deadline) {
    on_worker(worker, [&] { flushed = c->written == 1; });
    std::this_thread::sleep_for(1ms);
  }
  worker.stop();
  runner.join();
  BOOST_TEST_REQUIRE(flushed);
  return c->deferred_flushed_at - c->deferred_at;
}

} // namespace

BOOST_AUTO_TEST_SUITE(io_pool_fanout)

BOOST_AUTO_TEST_CASE(events_sent_together_are_taken_in_order_and_flushed_once_per_connection) {
  io_worker worker{0ns};
  auto a = std::make_shared<recording_connection>(worker);
  auto b = std::make_shared<recording_connection>(worker);
  // Delivered before the worker runs: one drain sees them all.
  for (int i = 0; i < 3; ++i) {
    worker.deliver(a, make_frame("a" + std::to_string(i)), 0);
    worker.deliver(b, make_frame("b" + std::to_string(i)), 0);
  }
  std::thread runner{[&] { worker.run(); }};
  on_worker(worker, [] {});
  BOOST_TEST(a->taken == (std::vector<std::string>{"a0", "a1", "a2"}), boost::test_tools::per_element());
  BOOST_TEST(b->taken == (std::vector<std::string>{"b0", "b1", "b2"}), boost::test_tools::per_element());
  BOOST_TEST(a->flushed_batches == std::vector<std::size_t>{3}, boost::test_tools::per_element());
  BOOST_TEST(b->flushed_batches == std::vector<std::size_t>{3}, boost::test_tools::per_element());
  worker.stop();
  runner.join();
}

BOOST_AUTO_TEST_CASE(events_from_many_threads_all_arrive_in_each_senders_order) {
  io_worker worker{0ns};
  auto c = std::make_shared<recording_connection>(worker);
  std::thread runner{[&] { worker.run(); }};
  constexpr int per_thread = 2000;
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        worker.deliver(c, make_frame(std::to_string(t) + ":" + std::to_string(i)), 0);
    });
  for (auto& s : senders)
    s.join();
  on_worker(worker, [] {});
  BOOST_TEST_REQUIRE(c->taken.size() == 3u * per_thread);
  std::vector<int> next(3, 0);
  for (const auto& event : c->taken) {
    auto t = std::stoi(event.substr(0, 1));
    BOOST_TEST(std::stoi(event.substr(2)) == next[static_cast<std::size_t>(t)]);
    ++next[static_cast<std::size_t>(t)];
  }
  worker.stop();
  runner.join();
}

BOOST_AUTO_TEST_CASE(a_deferred_connection_is_flushed_once_it_is_due) {
  auto waited = deferred_wait(20ms, 20ms);
  BOOST_TEST(waited >= 19ms);
  BOOST_TEST(waited < 2s);
}

BOOST_AUTO_TEST_CASE(a_connection_already_due_waits_one_tick_not_the_whole_interval) {
  // It last wrote a full interval ago: only the tick granularity (a quarter
  // of the interval) delays it.
  auto waited = deferred_wait(400ms, 0ms);
  BOOST_TEST(waited >= 99ms);
  BOOST_TEST(waited < 390ms);
}

BOOST_AUTO_TEST_CASE(the_pool_hands_out_its_workers_in_turn) {
  io_pool pool{3, 0ns};
  BOOST_TEST(pool.size() == 3u);
  auto* first = &pool.next();
  auto* second = &pool.next();
  auto* third = &pool.next();
  BOOST_TEST((first != second && second != third && first != third));
  BOOST_TEST(&pool.next() == first);
}

BOOST_AUTO_TEST_CASE(the_sweep_comes_often_enough_to_ping_halfway_through_the_idle_timeout) {
  BOOST_TEST(sweep_period_for(60s).count() == std::chrono::nanoseconds{1s}.count());
  BOOST_TEST(sweep_period_for(2s).count() == std::chrono::nanoseconds{500ms}.count());
  BOOST_TEST(sweep_period_for(1s).count() == std::chrono::nanoseconds{250ms}.count());
}

BOOST_AUTO_TEST_CASE(the_idle_sweep_visits_each_connection_until_it_is_done) {
  io_worker worker{0ns, 5ms};
  auto a = std::make_shared<recording_connection>(worker);
  auto b = std::make_shared<recording_connection>(worker);
  a->sweeps_wanted = 3;
  b->sweeps_wanted = 1000000;
  std::thread runner{[&] { worker.run(); }};
  on_worker(worker, [&] {
    worker.watch(a);
    worker.watch(b);
  });
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::size_t b_sweeps = 0;
  while (b_sweeps < 10 && std::chrono::steady_clock::now() < deadline) {
    on_worker(worker, [&] { b_sweeps = b->sweeps; });
    std::this_thread::sleep_for(1ms);
  }
  std::size_t a_sweeps = 0;
  on_worker(worker, [&] { a_sweeps = a->sweeps; });
  worker.stop();
  runner.join();
  BOOST_TEST(b_sweeps >= 10u);
  BOOST_TEST(a_sweeps == 3u); // no longer visited once it said it was done
}

BOOST_AUTO_TEST_SUITE_END()

#include "node/files/image_workers.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace chatnode;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(image_workers_suite)

BOOST_AUTO_TEST_CASE(jobs_run_on_the_workers_threads) {
  std::atomic<int> ran{0};
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  std::promise<void> all_done;
  {
    image_workers workers(2, 16);
    for (int i = 0; i < 10; ++i) {
      BOOST_TEST(workers.post([&] {
        on_caller = on_caller || std::this_thread::get_id() == caller;
        if (++ran == 10) {
          all_done.set_value();
        }
      }));
    }
    BOOST_TEST((all_done.get_future().wait_for(10s) == std::future_status::ready));
  }
  BOOST_TEST(ran.load() == 10);
  BOOST_TEST(!on_caller.load());
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses) {
  std::promise<void> started, gate;
  auto opened = gate.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> last;
  {
    image_workers workers(1, 2);
    BOOST_TEST(workers.post([&] {
      started.set_value();
      opened.wait();
      ++ran;
    }));
    started.get_future().wait();
    BOOST_TEST(workers.post([&] { ++ran; }));
    BOOST_TEST(workers.post([&] {
      ++ran;
      last.set_value();
    }));
    BOOST_TEST(workers.waiting() == 2u);
    BOOST_TEST(!workers.post([&] { ++ran; }));
    gate.set_value();
    BOOST_TEST((last.get_future().wait_for(10s) == std::future_status::ready));
    BOOST_TEST(workers.post([&] { ++ran; })); // room again
  }
  BOOST_TEST(ran.load() >= 3);
}

BOOST_AUTO_TEST_CASE(destruction_joins_the_running_job_and_drops_the_waiting_ones) {
  std::promise<void> started;
  std::atomic<bool> finished{false};
  std::atomic<bool> waiting_ran{false};
  auto held = std::make_shared<int>(0);
  {
    image_workers workers(1, 4);
    workers.post([&] {
      started.set_value();
      std::this_thread::sleep_for(100ms);
      finished = true;
    });
    started.get_future().wait();
    workers.post([&waiting_ran, held] { waiting_ran = true; });
    BOOST_TEST(held.use_count() == 2);
  }
  BOOST_TEST(finished.load());
  BOOST_TEST(!waiting_ran.load());
  BOOST_TEST(held.use_count() == 1); // the dropped job released what it held
}

BOOST_AUTO_TEST_CASE(a_throwing_job_leaves_its_worker_running) {
  std::promise<void> after;
  image_workers workers;
  BOOST_TEST(workers.post([] { throw std::runtime_error("bad image"); }));
  BOOST_TEST(workers.post([&] { after.set_value(); }));
  BOOST_TEST((after.get_future().wait_for(10s) == std::future_status::ready));
}

BOOST_AUTO_TEST_SUITE_END()

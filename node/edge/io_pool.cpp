#include "node/edge/io_pool.hpp"

#include "node/edge/op_memory.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <malloc.h>
#include <thread>

namespace chatnode {

namespace net = boost::asio;

std::string io_backend_problem() {
  try {
    net::io_context probe{1};
    net::steady_timer timer{probe};
    net::ip::tcp::socket socket{probe};
    socket.open(net::ip::tcp::v4());
    return {};
  } catch (const std::exception& e) {
#ifdef BOOST_ASIO_HAS_IO_URING
    return std::string{"io_uring: "} + e.what() +
           " (this node is built for io_uring; allow the io_uring_* system calls or use a build "
           "without CHATNODE_IO_URING)";
#else
    return e.what();
#endif
  }
}

namespace {
constexpr std::size_t read_buffer_bytes = 64 * 1024;
constexpr std::size_t calm_drain = 64; // deliveries in one drain below which a sweep period was calm
} // namespace

io_worker::io_worker(std::chrono::nanoseconds coalesce, std::chrono::nanoseconds sweep_period)
  : guard_(net::make_work_guard(ioc_)),
    coalesce_(coalesce),
    tick_(ioc_),
    sweep_period_(sweep_period),
    sweep_(ioc_),
    read_buffer_(read_buffer_bytes) {}

void io_worker::deliver(std::shared_ptr<pinned_connection> connection, frame_ptr frame,
                        std::int64_t received_ns) {
  {
    std::lock_guard lock{mutex_};
    inbox_.push_back({std::move(connection), std::move(frame), received_ns});
    if (drain_posted_)
      return;
    drain_posted_ = true;
  }
  net::post(ioc_, [this] { drain(); });
}

void io_worker::drain() {
  {
    std::lock_guard lock{mutex_};
    draining_.swap(inbox_);
    drain_posted_ = false;
  }
  // Everything taken first, then one flush per connection: what arrived
  // together leaves together.
  for (auto& d : draining_) {
    d.connection->take(std::move(d.frame), d.received_ns);
    if (!d.connection->in_drain_) {
      d.connection->in_drain_ = true;
      touched_.push_back(d.connection.get());
    }
  }
  for (auto* connection : touched_) {
    connection->in_drain_ = false;
    connection->flush();
  }
  largest_drain_ = std::max(largest_drain_, draining_.size());
  touched_.clear();
  draining_.clear();
}

void io_worker::defer(std::shared_ptr<pinned_connection> connection, std::int64_t due_ns) {
  deferred_.push_back({std::move(connection), due_ns});
  arm_tick();
}

void io_worker::arm_tick() {
  if (tick_armed_ || deferred_.empty())
    return;
  tick_armed_ = true;
  tick_.expires_after(std::max<std::chrono::nanoseconds>(coalesce_ / 4, std::chrono::microseconds{500}));
  tick_.async_wait([this](boost::system::error_code ec) {
    tick_armed_ = false;
    if (!ec)
      on_tick();
  });
}

void io_worker::on_tick() {
  // Those due are flushed; the rest wait for a later tick (flushing may
  // defer a connection again, into deferred_).
  ticking_.swap(deferred_);
  auto now = steady_now_ns();
  for (auto& entry : ticking_) {
    if (entry.due_ns <= now)
      entry.connection->flush_deferred();
    else
      deferred_.push_back(std::move(entry));
  }
  ticking_.clear();
  arm_tick();
}

void io_worker::watch(const std::shared_ptr<pinned_connection>& connection) {
  watched_.push_back(connection);
  arm_sweep();
}

void io_worker::arm_sweep() {
  if (sweep_armed_ || watched_.empty())
    return;
  sweep_armed_ = true;
  sweep_.expires_after(sweep_period_);
  sweep_.async_wait([this](boost::system::error_code ec) {
    sweep_armed_ = false;
    if (!ec)
      on_sweep();
  });
}

void io_worker::on_sweep() {
  auto now = steady_now_ns();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < watched_.size(); ++i) {
    auto connection = watched_[i].lock();
    if (!connection || !connection->check_idle(now))
      continue;
    if (kept != i) // a weak_ptr moved onto itself would be emptied
      watched_[kept] = std::move(watched_[i]);
    ++kept;
  }
  watched_.resize(kept);
  if (watched_.capacity() > 64 && kept < watched_.capacity() / 4)
    watched_.shrink_to_fit();
  give_back_memory();
  arm_sweep();
}

void io_worker::give_back_memory() {
  // The drain's vectors keep the size of the largest burst (a join storm's
  // presence: an entry for every member it told); after a calm sweep period
  // they go back to what the load needs.
  if (draining_.capacity() > 4 * std::max<std::size_t>(largest_drain_, 256)) {
    std::vector<delivery>{}.swap(draining_);
    std::vector<pinned_connection*>{}.swap(touched_);
    std::lock_guard lock{mutex_};
    if (inbox_.empty())
      std::vector<delivery>{}.swap(inbox_);
  }
  // Once a busy spell is over, the heap's free pages go back to the
  // system: a join storm's peak need not stay in the process for good.
  if (largest_drain_ >= calm_drain)
    heap_trimmed_ = false;
  else if (!heap_trimmed_) {
    malloc_trim(0);
    heap_trimmed_ = true;
  }
  largest_drain_ = 0;
  op_memory::trim();
}

void io_worker::run() {
  ioc_.run();
}

void io_worker::stop() {
  guard_.reset();
  ioc_.stop();
}

void io_worker::poll() {
  ioc_.restart();
  ioc_.poll();
}

std::chrono::nanoseconds sweep_period_for(std::chrono::nanoseconds idle_timeout) {
  return std::min<std::chrono::nanoseconds>(std::chrono::seconds{1}, idle_timeout / 4);
}

io_pool::io_pool(std::size_t threads, std::chrono::nanoseconds coalesce,
                 std::chrono::nanoseconds sweep_period) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
    workers_.push_back(std::make_unique<io_worker>(coalesce, sweep_period));
}

io_worker& io_pool::next() {
  auto& worker = *workers_[next_];
  next_ = (next_ + 1) % workers_.size();
  return worker;
}

void io_pool::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i)
    threads.emplace_back([worker = workers_[i].get()] { worker->run(); });
  workers_[0]->run();
  for (auto& t : threads)
    t.join();
}

void io_pool::stop() {
  for (auto& worker : workers_)
    worker->stop();
}

void io_pool::poll() {
  for (auto& worker : workers_)
    worker->poll();
}

} // namespace chatnode

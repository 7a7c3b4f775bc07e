#pragma once
// Memory for a connection's asynchronous reads and writes, recycled per
// thread. Asio's own cache keeps two blocks a thread; a flush tick starts
// hundreds of writes before the first completes, so most of them went to
// malloc. Here every freed block waits in its thread's list for the next
// operation of its size (up to a bound), and the steady state allocates
// nothing.

#include <boost/asio/bind_allocator.hpp>

#include <cstddef>
#include <utility>

namespace chatnode {

namespace op_memory {
void* allocate(std::size_t bytes);
void deallocate(void* block, std::size_t bytes) noexcept;
/// Gives the heap back the blocks of this thread that waited unused since
/// the last trim: a burst's blocks go once the burst is over.
void trim() noexcept;
/// Blocks waiting in this thread's lists.
std::size_t cached_blocks() noexcept;
} // namespace op_memory

template <class T = void>
class op_allocator {
public:
  using value_type = T;

  op_allocator() noexcept = default;
  template <class U>
  op_allocator(const op_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(op_memory::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { op_memory::deallocate(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const op_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const op_allocator<U>&) const noexcept {
    return false;
  }
};

/// Binds a completion handler to the recycled operation memory.
template <class Handler>
auto with_op_memory(Handler&& handler) {
  return boost::asio::bind_allocator(op_allocator<void>(), std::forward<Handler>(handler));
}

} // namespace chatnode

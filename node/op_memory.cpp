#include "node/op_memory.hpp"

#include <array>
#include <new>
#include <vector>

namespace chatnode::op_memory {

namespace {

constexpr std::size_t granule = 64;       // blocks come in multiples of this
constexpr std::size_t classes = 32;       // up to 2 KiB; larger ones use the heap directly
constexpr std::size_t max_waiting = 4096; // blocks kept per class and thread

/// One thread's free blocks; given back to the heap when the thread ends.
struct free_lists {
  std::array<std::vector<void*>, classes> lists;
  /// False once the thread's lists are gone (a block freed during exit).
  static thread_local bool alive;

  ~free_lists() {
    alive = false;
    for (auto& list : lists)
      for (void* block : list)
        ::operator delete(block);
  }
};

thread_local bool free_lists::alive = true;
thread_local free_lists pool;

std::size_t class_of(std::size_t bytes) {
  return (bytes + granule - 1) / granule;
}

} // namespace

void* allocate(std::size_t bytes) {
  auto c = class_of(bytes);
  if (c == 0 || c > classes)
    return ::operator new(bytes);
  auto& list = pool.lists[c - 1];
  if (list.empty())
    return ::operator new(c* granule);
  void* block = list.back();
  list.pop_back();
  return block;
}

void deallocate(void* block, std::size_t bytes) noexcept {
  auto c = class_of(bytes);
  if (c == 0 || c > classes || !free_lists::alive) {
    ::operator delete(block);
    return;
  }
  auto& list = pool.lists[c - 1];
  if (list.size() >= max_waiting) {
    ::operator delete(block);
    return;
  }
  try {
    list.push_back(block);
  } catch (...) {
    ::operator delete(block);
  }
}

} // namespace chatnode::op_memory

#include "node/edge/op_memory.hpp"

#include <algorithm>
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
  /// Per class, the fewest blocks waiting since the last trim: that many
  /// were not needed in the meantime.
  std::array<std::size_t, classes> low_water{};
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
  auto& low = pool.low_water[c - 1];
  low = std::min(low, list.size());
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

void trim() noexcept {
  if (!free_lists::alive)
    return;
  for (std::size_t c = 0; c < classes; ++c) {
    auto& list = pool.lists[c];
    auto unused = std::min(pool.low_water[c], list.size());
    for (std::size_t i = 0; i < unused; ++i) {
      ::operator delete(list.back());
      list.pop_back();
    }
    if (list.empty())
      std::vector<void*>{}.swap(list);
    pool.low_water[c] = list.size();
  }
}

std::size_t cached_blocks() noexcept {
  std::size_t n = 0;
  for (const auto& list : pool.lists)
    n += list.size();
  return n;
}

} // namespace chatnode::op_memory

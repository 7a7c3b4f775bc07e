#include "node/edge/op_memory.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <vector>
#include <thread>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(op_memory_recycling)

BOOST_AUTO_TEST_CASE(a_freed_block_serves_the_next_operation_of_its_size) {
  void* a = op_memory::allocate(200);
  std::memset(a, 0xab, 200);
  op_memory::deallocate(a, 200);
  void* b = op_memory::allocate(250); // the same class: 193 to 256 bytes
  BOOST_TEST(b == a);
  op_memory::deallocate(b, 250);
}

BOOST_AUTO_TEST_CASE(many_blocks_in_flight_all_come_back) {
  // Like a flush tick: hundreds of writes start before any completes.
  std::vector<void*> blocks;
  for (int i = 0; i < 500; ++i)
    blocks.push_back(op_memory::allocate(300));
  std::vector<void*> first = blocks;
  for (void* b : blocks)
    op_memory::deallocate(b, 300);
  blocks.clear();
  for (int i = 0; i < 500; ++i)
    blocks.push_back(op_memory::allocate(300));
  std::sort(first.begin(), first.end());
  std::sort(blocks.begin(), blocks.end());
  BOOST_TEST(first == blocks); // the second round allocated nothing new
  for (void* b : blocks)
    op_memory::deallocate(b, 300);
}

BOOST_AUTO_TEST_CASE(large_blocks_and_other_threads_work_too) {
  void* big = op_memory::allocate(64 * 1024);
  std::memset(big, 1, 64 * 1024);
  op_memory::deallocate(big, 64 * 1024);
  void* small = op_memory::allocate(64);
  std::thread other{[small] { op_memory::deallocate(small, 64); }}; // freed elsewhere
  other.join();
}

BOOST_AUTO_TEST_CASE(trimming_frees_what_waited_unused_since_the_last_trim) {
  std::vector<std::size_t> cached;
  std::thread t{[&] { // a thread of its own: lists of its own
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i)
      blocks.push_back(op_memory::allocate(128));
    for (void* b : blocks)
      op_memory::deallocate(b, 128);
    op_memory::trim(); // a first trim only starts counting
    cached.push_back(op_memory::cached_blocks());
    blocks.clear();
    for (int i = 0; i < 10; ++i) // a small burst: 10 of the 100 used
      blocks.push_back(op_memory::allocate(128));
    for (void* b : blocks)
      op_memory::deallocate(b, 128);
    op_memory::trim();
    cached.push_back(op_memory::cached_blocks());
    op_memory::trim(); // nothing used since
    cached.push_back(op_memory::cached_blocks());
  }};
  t.join();
  BOOST_TEST(cached == (std::vector<std::size_t>{100, 10, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

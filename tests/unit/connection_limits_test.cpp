#include "node/edge/connection_limits.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace chatnode;
namespace ip = boost::asio::ip;

BOOST_AUTO_TEST_SUITE(connection_limits)

BOOST_AUTO_TEST_CASE(an_address_holds_at_most_the_limit_and_slots_come_back) {
  address_limits limits;
  limits.set_limit(2);
  auto a = ip::make_address("10.0.0.1");
  auto b = ip::make_address("10.0.0.2");
  std::vector<connection_slot> held;
  held.push_back(*limits.acquire(a));
  held.push_back(*limits.acquire(a));
  BOOST_TEST(!limits.acquire(a).has_value());
  BOOST_TEST(limits.acquire(b).has_value()); // another address is not affected
  BOOST_TEST(limits.held(a) == 2u);
  held.pop_back();
  BOOST_TEST(limits.held(a) == 1u);
  BOOST_TEST(limits.acquire(a).has_value());
  held.clear();
  BOOST_TEST(limits.held(a) == 0u);
}

BOOST_AUTO_TEST_CASE(a_moved_slot_is_released_once) {
  address_limits limits;
  limits.set_limit(1);
  auto a = ip::make_address("10.0.0.1");
  {
    auto slot = *limits.acquire(a);
    connection_slot moved{std::move(slot)};
    connection_slot assigned;
    assigned = std::move(moved);
    BOOST_TEST(limits.held(a) == 1u);
  }
  BOOST_TEST(limits.held(a) == 0u);
}

BOOST_AUTO_TEST_CASE(ipv4_through_a_dual_stack_socket_counts_as_itself) {
  address_limits limits;
  limits.set_limit(1);
  auto slot = limits.acquire(ip::make_address("::ffff:10.0.0.1"));
  BOOST_REQUIRE(slot.has_value());
  BOOST_TEST(!limits.acquire(ip::make_address("10.0.0.1")).has_value());
}

BOOST_AUTO_TEST_CASE(zero_means_no_limit) {
  address_limits limits;
  limits.set_limit(0);
  std::vector<connection_slot> held;
  for (int i = 0; i < 1000; ++i)
    held.push_back(*limits.acquire(ip::make_address("10.0.0.1")));
  BOOST_TEST(held.size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()

#include "node/files/byte_range.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

namespace {

bool partial(std::string_view header, std::uint64_t size, std::uint64_t first, std::uint64_t last) {
  auto r = read_range(header, size);
  return r.verdict == range_verdict::partial && r.first == first && r.last == last;
}

bool whole(std::string_view header, std::uint64_t size) {
  return read_range(header, size).verdict == range_verdict::whole;
}

bool unsatisfiable(std::string_view header, std::uint64_t size) {
  return read_range(header, size).verdict == range_verdict::unsatisfiable;
}

} // namespace

BOOST_AUTO_TEST_SUITE(byte_ranges)

BOOST_AUTO_TEST_CASE(one_range_in_each_form) {
  BOOST_TEST(partial("bytes=0-99", 1000, 0, 99));
  BOOST_TEST(partial("bytes=990-", 1000, 990, 999));
  BOOST_TEST(partial("bytes=-10", 1000, 990, 999));
  BOOST_TEST(partial("BYTES=5-5", 1000, 5, 5));
  BOOST_TEST(partial("bytes=900-5000", 1000, 900, 999)); // the end is cut to the file
  BOOST_TEST(partial("bytes=-5000", 1000, 0, 999));      // a suffix longer than the file: all of it
}

BOOST_AUTO_TEST_CASE(what_does_not_parse_gets_the_whole_file) {
  BOOST_TEST(whole("", 1000));
  BOOST_TEST(whole("items=0-1", 1000));
  BOOST_TEST(whole("bytes=0-1,5-6", 1000)); // several: allowed to ignore
  BOOST_TEST(whole("bytes=5-1", 1000));
  BOOST_TEST(whole("bytes=a-b", 1000));
  BOOST_TEST(whole("bytes=-", 1000));
  BOOST_TEST(whole("bytes=1", 1000));
  BOOST_TEST(whole("bytes=99999999999999999999-", 1000)); // over 64 bits
  BOOST_TEST(whole("bytes= 1-2", 1000));
}

BOOST_AUTO_TEST_CASE(a_range_past_the_end_is_unsatisfiable) {
  BOOST_TEST(unsatisfiable("bytes=1000-", 1000));
  BOOST_TEST(unsatisfiable("bytes=1000-2000", 1000));
  BOOST_TEST(unsatisfiable("bytes=-0", 1000));
  BOOST_TEST(unsatisfiable("bytes=0-", 0));
  BOOST_TEST(unsatisfiable("bytes=-1", 0));
}

BOOST_AUTO_TEST_SUITE_END()

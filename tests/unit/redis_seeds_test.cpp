#include "node/redis_cluster.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(redis_seeds)

BOOST_AUTO_TEST_CASE(one_or_many_seeds_share_the_credentials) {
  std::vector<redis_endpoint> seeds;
  std::string error;
  BOOST_TEST_REQUIRE(
    parse_redis_seeds("redis://app:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002", seeds, error));
  BOOST_TEST_REQUIRE(seeds.size() == 3u);
  BOOST_TEST(seeds[0].host == "10.0.0.1");
  BOOST_TEST(seeds[1].port == 7001);
  BOOST_TEST(seeds[2].host == "::1");
  for (const auto& s : seeds) {
    BOOST_TEST(s.user == "app");
    BOOST_TEST(s.password == "s3cret");
  }
  BOOST_TEST_REQUIRE(parse_redis_seeds("redis://127.0.0.1:7000", seeds, error));
  BOOST_TEST(seeds.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_seed_lists_are_refused) {
  std::vector<redis_endpoint> seeds;
  std::string error;
  BOOST_TEST(!parse_redis_seeds("127.0.0.1:7000", seeds, error));
  BOOST_TEST(!parse_redis_seeds("redis://a:7000,", seeds, error));
  BOOST_TEST(!parse_redis_seeds("redis://a:7000,b:99999", seeds, error));
  BOOST_TEST(!parse_redis_seeds("redis://a:7000/2", seeds, error));
  BOOST_TEST(error.find("database 0") != std::string::npos, error);
}

BOOST_AUTO_TEST_SUITE_END()

#include "node/links/redis_cluster.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(redis_seeds)

BOOST_AUTO_TEST_CASE(one_or_many_seeds_share_the_credentials) {
  auto parsed = parse_redis_seeds("redis://app:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
  BOOST_TEST_REQUIRE(ok(parsed));
  const auto& seeds = std::get<std::vector<redis_endpoint>>(parsed);
  BOOST_TEST_REQUIRE(seeds.size() == 3u);
  BOOST_TEST(seeds[0].host == "10.0.0.1");
  BOOST_TEST(seeds[1].port == 7001);
  BOOST_TEST(seeds[2].host == "::1");
  for (const auto& s : seeds) {
    BOOST_TEST(s.user == "app");
    BOOST_TEST(s.password == "s3cret");
  }
  auto one = parse_redis_seeds("redis://127.0.0.1:7000");
  BOOST_TEST_REQUIRE(ok(one));
  BOOST_TEST(std::get<std::vector<redis_endpoint>>(one).size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_seed_lists_are_refused) {
  BOOST_TEST(!ok(parse_redis_seeds("127.0.0.1:7000")));
  BOOST_TEST(!ok(parse_redis_seeds("redis://a:7000,")));
  BOOST_TEST(!ok(parse_redis_seeds("redis://a:7000,b:99999")));
  auto db = parse_redis_seeds("redis://a:7000/2");
  BOOST_TEST_REQUIRE(!ok(db));
  BOOST_TEST(error_of(db).find("database 0") != std::string::npos, error_of(db));
}

BOOST_AUTO_TEST_SUITE_END()

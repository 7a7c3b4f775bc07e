#include "node/edge/origin_policy.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(origin_policy)

BOOST_AUTO_TEST_CASE(the_page_own_origin_is_allowed_port_and_all) {
  BOOST_TEST(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", {}));
  BOOST_TEST(origin_allowed("https://Chat.Example.com", "chat.example.com", {}));
  // Default ports are the same origin with or without them.
  BOOST_TEST(origin_allowed("http://chat.example.com:80", "chat.example.com", {}));
  BOOST_TEST(origin_allowed("https://chat.example.com", "chat.example.com:443", {}));
}

BOOST_AUTO_TEST_CASE(a_host_without_the_page_port_is_another_origin) {
  // What a proxy that forwards $host instead of $http_host produces: refused,
  // so the balancer must pass Host as the browser sent it.
  BOOST_TEST(!origin_allowed("http://127.0.0.1:8080", "127.0.0.1", {}));
  BOOST_TEST(!origin_allowed("http://evil.example", "chat.example.com", {}));
  BOOST_TEST(!origin_allowed("https://chat.example.com", "chat.example.com:80", {}));
  BOOST_TEST(!origin_allowed("http://localhost:9999", "localhost:8080", {}));
  BOOST_TEST(!origin_allowed("http://localhost:8080.evil.example", "localhost:8080", {}));
  BOOST_TEST(!origin_allowed("null", "chat.example.com", {}));
  BOOST_TEST(!origin_allowed("http://chat.example.com", "", {}));
}

BOOST_AUTO_TEST_CASE(listed_origins_are_allowed_from_anywhere) {
  std::vector<std::string> listed{"https://chat.example.com"};
  BOOST_TEST(origin_allowed("https://chat.example.com", "10.0.0.7:8080", listed));
  BOOST_TEST(origin_allowed("HTTPS://CHAT.EXAMPLE.COM", "10.0.0.7:8080", listed));
  BOOST_TEST(!origin_allowed("https://other.example.com", "10.0.0.7:8080", listed));
  BOOST_TEST(origin_allowed("https://other.example.com", "10.0.0.7:8080", {"*"}));
}

BOOST_AUTO_TEST_SUITE_END()

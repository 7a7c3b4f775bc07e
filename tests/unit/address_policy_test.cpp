#include "node/fetch/address_policy.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace chatnode;

namespace {
/// Why `text` is refused ("" when allowed).
std::string why(const char* text, bool allow_private = false) {
  return std::string{refused_address(boost::asio::ip::make_address(text), allow_private)};
}
} // namespace

BOOST_AUTO_TEST_SUITE(address_policy_suite)

BOOST_AUTO_TEST_CASE(public_addresses_are_allowed) {
  for (const char* a :
       {"1.1.1.1", "93.184.216.34", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255",
        "172.32.0.0", "192.167.255.255", "198.17.255.255", "223.255.255.255", "2606:4700::1111",
        "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"})
    BOOST_TEST(why(a).empty(), a);
}

BOOST_AUTO_TEST_CASE(internal_addresses_are_refused_with_a_reason) {
  BOOST_TEST(why("127.0.0.1") == "loopback (127/8)");
  BOOST_TEST(why("127.255.255.254") == "loopback (127/8)");
  BOOST_TEST(why("10.1.2.3") == "private (10/8)");
  BOOST_TEST(why("172.16.0.1") == "private (172.16/12)");
  BOOST_TEST(why("172.31.255.255") == "private (172.16/12)");
  BOOST_TEST(why("192.168.1.1") == "private (192.168/16)");
  BOOST_TEST(why("169.254.169.254") == "link-local (169.254/16, cloud metadata)");
  BOOST_TEST(why("100.64.0.1") == "carrier-grade NAT (100.64/10)");
  BOOST_TEST(why("100.127.255.255") == "carrier-grade NAT (100.64/10)");
  BOOST_TEST(why("0.0.0.0") == "unspecified (0.0.0.0/8)");
  BOOST_TEST(why("224.0.0.1") == "multicast (224/4)");
  BOOST_TEST(why("239.255.255.250") == "multicast (224/4)");
  BOOST_TEST(why("255.255.255.255") == "reserved (240/4, broadcast)");
  BOOST_TEST(why("192.0.2.1") == "documentation (192.0.2/24)");
  BOOST_TEST(why("198.18.0.1") == "benchmarking (198.18/15)");
  BOOST_TEST(why("::") == "unspecified (::)");
  BOOST_TEST(why("::1") == "loopback (::1)");
  BOOST_TEST(why("fd00::1") == "unique local (fc00::/7)");
  BOOST_TEST(why("fc00::1") == "unique local (fc00::/7)");
  BOOST_TEST(why("fe80::1") == "link-local (fe80::/10)");
  BOOST_TEST(why("ff02::1") == "multicast (ff00::/8)");
  BOOST_TEST(why("2001:db8::1") == "documentation (2001:db8::/32)");
}

BOOST_AUTO_TEST_CASE(ipv6_forms_of_an_ipv4_address_are_checked_as_that_address) {
  BOOST_TEST(why("::ffff:127.0.0.1") == "loopback (127/8)");
  BOOST_TEST(why("::ffff:169.254.169.254") == "link-local (169.254/16, cloud metadata)");
  BOOST_TEST(why("::ffff:10.0.0.1") == "private (10/8)");
  BOOST_TEST(why("::127.0.0.1") == "loopback (127/8)");     // compatible (deprecated)
  BOOST_TEST(why("64:ff9b::7f00:1") == "loopback (127/8)"); // NAT64
  BOOST_TEST(why("64:ff9b::a9fe:a9fe") == "link-local (169.254/16, cloud metadata)");
  BOOST_TEST(why("2002:c0a8:101::1") == "private (192.168/16)"); // 6to4
  BOOST_TEST(why("2002:7f00:1::") == "loopback (127/8)");
}

BOOST_AUTO_TEST_CASE(allowing_private_networks_lets_them_through_but_never_link_local_or_the_rest) {
  for (const char* a :
       {"127.0.0.1", "10.0.0.1", "192.168.0.1", "100.64.0.1", "::1", "fd00::1", "::ffff:127.0.0.1"})
    BOOST_TEST(why(a, true).empty(), a);
  for (const char* a : {"0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1", "192.0.2.1",
                        "::ffff:0.0.0.0", "169.254.169.254", "fe80::1", "::ffff:169.254.169.254"})
    BOOST_TEST(!why(a, true).empty(), a);
}

BOOST_AUTO_TEST_CASE(listed_networks_alone_are_allowed_and_never_the_always_refused) {
  std::string error;
  auto allowed = allowed_networks::parse({"127.0.0.2/32", "10.1.0.0/16", "fd00::/8"}, error);
  BOOST_TEST(error.empty());
  auto why_with = [&](const char* text) {
    return std::string{refused_address(boost::asio::ip::make_address(text), allowed)};
  };
  for (const char* a : {"127.0.0.2", "10.1.255.1", "fd12::1", "::ffff:127.0.0.2", "::ffff:10.1.0.9"})
    BOOST_TEST(why_with(a).empty(), a);
  BOOST_TEST(why_with("127.0.0.1") == "loopback (127/8)");
  BOOST_TEST(why_with("10.2.0.1") == "private (10/8)");
  BOOST_TEST(why_with("::ffff:127.0.0.1") == "loopback (127/8)");
  BOOST_TEST(why_with("fc00::1") == "unique local (fc00::/7)");
  // Listing an always-refused range allows nothing of it.
  auto metadata = allowed_networks::parse({"169.254.0.0/16", "0.0.0.0/0"}, error);
  BOOST_TEST(error.empty());
  BOOST_TEST(std::string{refused_address(boost::asio::ip::make_address("169.254.169.254"), metadata)} ==
             why("169.254.169.254"));
  BOOST_TEST(std::string{refused_address(boost::asio::ip::make_address("1.1.1.1"), metadata)}.empty());
}

BOOST_AUTO_TEST_CASE(a_network_that_is_not_one_is_named) {
  std::string error;
  auto none = allowed_networks::parse({"10.0.0.0/8", "10.0.0.0/33"}, error);
  BOOST_TEST(error.find("10.0.0.0/33") != std::string::npos);
  BOOST_TEST(none.empty());
  allowed_networks::parse({"intranet"}, error);
  BOOST_TEST(error.find("\"intranet\" is not a network") != std::string::npos);
  auto bare = allowed_networks::parse({"192.168.1.7"}, error);
  BOOST_TEST(error.empty());
  BOOST_TEST(bare.contains(boost::asio::ip::make_address("192.168.1.7")));
  BOOST_TEST(!bare.contains(boost::asio::ip::make_address("192.168.1.8")));
}

BOOST_AUTO_TEST_SUITE_END()

// (1.2) The push client's rules: the VAPID audience of an endpoint, the
// operator's list of push services, and Retry-After read as RFC 9110 says.

#include "node/fetch/push_post.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(push_post_tests)

BOOST_AUTO_TEST_CASE(the_audience_is_the_endpoints_origin) {
  BOOST_TEST(push_audience("https://fcm.googleapis.com/fcm/send/abc:def") == "https://fcm.googleapis.com");
  BOOST_TEST(push_audience("https://push.example.net:443/x") == "https://push.example.net");
  BOOST_TEST(push_audience("https://push.example.net:8443/x?y=1") == "https://push.example.net:8443");
  BOOST_TEST(push_audience("http://127.0.0.1:9000/push/a") == "http://127.0.0.1:9000");
  BOOST_TEST(push_audience("https://[::1]:9000/a") == "https://[::1]:9000");
  BOOST_TEST(push_audience("ftp://push.example.net/x").empty());
  BOOST_TEST(push_audience("https://user@push.example.net/x").empty());
  BOOST_TEST(push_audience("not a url").empty());
}

BOOST_AUTO_TEST_CASE(the_operators_list_of_push_services) {
  BOOST_TEST(push_host_allowed("anything.example", {}));
  BOOST_TEST(
    push_host_allowed("FCM.googleapis.com", {"fcm.googleapis.com", "updates.push.services.mozilla.com"}));
  BOOST_TEST(!push_host_allowed("evil.example", {"fcm.googleapis.com"}));
}

BOOST_AUTO_TEST_CASE(retry_after_in_seconds_or_as_a_date) {
  auto now = std::chrono::system_clock::from_time_t(1445412480); // Wed, 21 Oct 2015 07:28:00 GMT
  BOOST_TEST(retry_after_seconds("120", now) == 120);
  BOOST_TEST(retry_after_seconds(" 0 ", now) == 0);
  BOOST_TEST(retry_after_seconds("", now) == -1);
  BOOST_TEST(retry_after_seconds("-5", now) == -1);
  BOOST_TEST(retry_after_seconds("-0", now) == -1);
  BOOST_TEST(retry_after_seconds("-99999999999999999999", now) == -1);
  BOOST_TEST(retry_after_seconds("100000", now) == 86400);
  BOOST_TEST(retry_after_seconds("soon", now) == -1);
  BOOST_TEST(retry_after_seconds("99999999999999999999", now) == 86400);
  BOOST_TEST(retry_after_seconds("Wed, 21 Oct 2015 07:30:00 GMT", now) == 120);
  BOOST_TEST(retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0); // past: at once
  BOOST_TEST(retry_after_seconds("Wed, 21 Oct 4030 07:30:00 GMT", now) == 86400);
  BOOST_TEST(retry_after_seconds("Wed, 21 Oct 2015 07:30:00 GMT trailing", now) == -1);
}

BOOST_AUTO_TEST_SUITE_END()

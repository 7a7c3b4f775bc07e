// (1.2) Webhooks: the signature as PROTOCOL.md defines it (the expected
// value computed by Python's hmac module, not by this code), the delivery
// id, the backoff, and the embedded bus holding entries not sent yet.

#include "actors/embedded_bus/history.hpp"
#include "actors/webhooks/webhook_signature.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(webhook_tests)

BOOST_AUTO_TEST_CASE(the_signature_is_the_hmac_of_timestamp_dot_body) {
  // python3 -c 'import hmac,hashlib; print(hmac.new(b"webhook-unit-secret-0123",
  //   b"1700000000.{\"type\":\"message\",\"room\":\"lobby\"}", hashlib.sha256).hexdigest())'
  BOOST_TEST(
    webhook_signature("webhook-unit-secret-0123", "1700000000", R"({"type":"message","room":"lobby"})") ==
    "sha256=60442dfed5b5eaadbdcf55850e338e041b78c33f68529161589e54d3f350eec8");
  BOOST_TEST(
    webhook_signature("another-secret-0123456", "1700000000", R"({"type":"message","room":"lobby"})") !=
    webhook_signature("webhook-unit-secret-0123", "1700000000", R"({"type":"message","room":"lobby"})"));
}

BOOST_AUTO_TEST_CASE(a_delivery_names_its_entry_the_same_every_time) {
  archived_entry entry{
    {1700000000123, 4}, 1, make_frame(R"({"type":"message","room":"lobby","id":"1700000000123-4"})")};
  auto a = make_webhook_post("webhook-unit-secret-0123", "lobby", entry, 1700000000);
  auto b = make_webhook_post("webhook-unit-secret-0123", "lobby", entry, 1700000060);
  BOOST_TEST(a.delivery == "lobby/1700000000123-4");
  BOOST_TEST(a.delivery == b.delivery);
  BOOST_TEST(a.body == *entry.frame);
  BOOST_TEST(a.timestamp == "1700000000");
  BOOST_TEST(a.signature != b.signature); // each try signs its own timestamp
}

BOOST_AUTO_TEST_CASE(retries_back_off_to_a_ceiling) {
  using std::chrono::milliseconds;
  milliseconds longest{300000};
  BOOST_TEST(webhook_retry_delay(1, longest).count() == 1000);
  BOOST_TEST(webhook_retry_delay(2, longest).count() == 2000);
  BOOST_TEST(webhook_retry_delay(5, longest).count() == 16000);
  BOOST_TEST(webhook_retry_delay(9, longest).count() == 256000);
  BOOST_TEST(webhook_retry_delay(10, longest).count() == 300000);
  BOOST_TEST(webhook_retry_delay(1000, longest).count() == 300000);
}

BOOST_AUTO_TEST_CASE(entries_not_sent_stay_past_the_retention_and_leave_once_sent) {
  room_history h{5};
  h.append("r", "u", "before the webhooks", "", 1000);
  h.set_hooked(true, 1000);
  // The first entry stored for them is the first they send.
  BOOST_TEST(h.hook_cursor().to_string() == "1000-0");
  for (int i = 0; i < 20; ++i)
    h.append("r", "u", "m" + std::to_string(i), "", 2000 + i);
  BOOST_TEST(h.hook_cursor().to_string() == "1000-0");
  BOOST_TEST(h.size() == 20u, "nothing sent: only what came before leaves");
  BOOST_TEST(h.entries_after(h.hook_cursor(), 100).size() == 20u);
  h.mark_hooked(message_id{2009, 0});
  h.append("r", "u", "one more", "", 3000);
  BOOST_TEST(h.size() == 11u, "sent up to m9: the rest and the new one stay");
  h.mark_hooked(message_id{3000, 0});
  h.append("r", "u", "and another", "", 3001);
  BOOST_TEST(h.size() == 5u, "all sent: the retention alone decides");
}

BOOST_AUTO_TEST_CASE(the_hold_bounds_what_waits) {
  room_history h{5};
  h.set_hooked(true, 50);
  for (int i = 0; i < 100; ++i)
    h.append("r", "u", "m" + std::to_string(i), "", 1000 + i);
  BOOST_TEST(h.entries() <= 50u);
}

BOOST_AUTO_TEST_SUITE_END()

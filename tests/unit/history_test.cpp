#include "actors/embedded_bus/history.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <ostream>

namespace chatnode {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& os, const message_id& id) {
  return os << id.to_string();
}
} // namespace chatnode

using namespace chatnode;

namespace {
std::string text_of(const stored_message& m) {
  return nlohmann::json::parse(*m.frame)["text"].get<std::string>();
}
} // namespace

BOOST_AUTO_TEST_SUITE(history)

BOOST_AUTO_TEST_CASE(ids_increase_even_when_the_clock_does_not) {
  room_history h{100};
  auto a = h.append("r", "u", "1", "", 1000).message.id;
  auto b = h.append("r", "u", "2", "", 1000).message.id;
  auto c = h.append("r", "u", "3", "", 999).message.id; // clock went back
  auto d = h.append("r", "u", "4", "", 1001).message.id;
  BOOST_TEST(a.to_string() == "1000-0");
  BOOST_TEST(b.to_string() == "1000-1");
  BOOST_TEST(c.to_string() == "1000-2");
  BOOST_TEST(d.to_string() == "1001-0");
}

BOOST_AUTO_TEST_CASE(keeps_the_retention_and_pages_back) {
  room_history h{10};
  for (int i = 0; i < 25; ++i)
    h.append("r", "u", std::to_string(i), "", 1000 + i);
  BOOST_TEST(h.size() == 10u);

  auto newest = h.page(std::nullopt, 4);
  BOOST_REQUIRE(newest.messages.size() == 4u);
  BOOST_TEST(text_of(newest.messages.front()) == "21");
  BOOST_TEST(text_of(newest.messages.back()) == "24");
  BOOST_TEST(newest.more);

  auto older = h.page(newest.messages.front().id, 4);
  BOOST_REQUIRE(older.messages.size() == 4u);
  BOOST_TEST(text_of(older.messages.front()) == "17");
  BOOST_TEST(text_of(older.messages.back()) == "20");
  BOOST_TEST(older.more);

  auto oldest = h.page(older.messages.front().id, 4);
  BOOST_REQUIRE(oldest.messages.size() == 2u); // 15 and 16 are all that is left
  BOOST_TEST(text_of(oldest.messages.front()) == "15");
  BOOST_TEST(!oldest.more);
}

BOOST_AUTO_TEST_CASE(after_returns_exactly_the_newer_messages) {
  room_history h{100};
  std::vector<message_id> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(h.append("r", "u", std::to_string(i), "", 5000).message.id);
  auto page = h.after(ids[6]).messages;
  BOOST_REQUIRE(page.messages.size() == 3u);
  BOOST_TEST(text_of(page.messages[0]) == "7");
  BOOST_TEST(text_of(page.messages[2]) == "9");
  BOOST_TEST(page.more);
  BOOST_TEST(h.after(ids[9]).messages.messages.empty());
  BOOST_TEST(h.after(message_id{0, 0}).messages.messages.size() == 10u);
  // An id between two stored ones (e.g. from another room's clock) still works.
  BOOST_TEST(h.after(message_id{4999, 99}).messages.messages.size() == 10u);
}

BOOST_AUTO_TEST_CASE(stored_messages_are_encoded_once_with_id_and_ts) {
  room_history h{10};
  auto stored = h.append("lobby", "alice", "hi", "c1", 1234).message;
  auto event = nlohmann::json::parse(*stored.frame);
  BOOST_TEST(event["type"] == "message");
  BOOST_TEST(event["room"] == "lobby");
  BOOST_TEST(event["id"] == "1234-0");
  BOOST_TEST(event["ts"] == 1234);
  BOOST_TEST(event["user"] == "alice");
  BOOST_TEST(event["cid"] == "c1");
}

BOOST_AUTO_TEST_CASE(a_repeated_cid_is_stored_once_per_user) {
  room_history h{3};
  auto first = h.append("r", "alice", "hello", "c1", 10);
  auto again = h.append("r", "alice", "hello (retry)", "c1", 11);
  BOOST_TEST(!first.duplicate);
  BOOST_TEST(again.duplicate);
  BOOST_TEST(again.message.id == first.message.id);
  BOOST_TEST(text_of(again.message) == "hello");
  BOOST_TEST(h.size() == 1u);
  // Another user may use the same cid.
  BOOST_TEST(!h.append("r", "bob", "hi", "c1", 12).duplicate);
  // Once the message leaves the retention, its cid is forgotten with it.
  h.append("r", "x", "1", "", 13);
  h.append("r", "x", "2", "", 14);
  BOOST_TEST(!h.append("r", "alice", "hello", "c1", 15).duplicate);
}

BOOST_AUTO_TEST_SUITE_END()

// (1.2) Pending pushes as the embedded bus keeps them (push_queue), who a
// message is pushed to (push_decision), and the pusher's payload and retry
// times.

#include "actors/push/push_decision.hpp"
#include "actors/push/push_queue.hpp"
#include "actors/push/pusher.hpp"

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace chatnode;

namespace {

push_owed_message message(std::string id, std::string text, std::string room = "lobby") {
  return owed_push(std::move(room), std::move(id), "ann", text);
}

} // namespace

BOOST_AUTO_TEST_SUITE(push_queue_tests)

BOOST_AUTO_TEST_CASE(messages_fold_into_one_push_due_a_fold_after_the_first) {
  push_queue q{30000};
  BOOST_TEST((q.owe("bob", message("1-0", "@bob a"), 1000) == push_queue::owed::opened));
  BOOST_TEST((q.owe("bob", message("2-0", "@bob b"), 20000) == push_queue::owed::folded));
  BOOST_TEST((q.owe("cy", message("2-0", "@cy b"), 20000) == push_queue::owed::opened));
  BOOST_TEST(q.claim(10, 60000, 30999).empty()); // not due before 31,000
  auto due = q.claim(10, 60000, 31000);
  BOOST_TEST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].user == "bob");
  BOOST_TEST(due[0].count == 2u);
  BOOST_TEST(due[0].id == "2-0");
  BOOST_TEST(due[0].text == "@bob b");
  BOOST_TEST(due[0].first_try_ms == 0);
  // Claimed: a message now opens a new pending push, not folded into this one.
  BOOST_TEST((q.owe("bob", message("3-0", "@bob c"), 31500) == push_queue::owed::opened));
  BOOST_TEST(q.size() == 3u);
  q.settle({due[0].key, 0, 0, 0, {}});
  BOOST_TEST(q.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_claim_that_runs_out_is_due_again_and_a_retry_at_its_time) {
  push_queue q{1000};
  q.owe("bob", message("1-0", "@bob"), 0);
  auto first = q.claim(10, 60000, 1000);
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(q.claim(10, 60000, 60999).empty());
  auto again = q.claim(10, 60000, 61000); // the claimer died: another takes it
  BOOST_TEST_REQUIRE(again.size() == 1u);
  BOOST_TEST(again[0].key == first[0].key);
  q.settle({again[0].key, 70000, 61000, 1, {"https://push.example/b"}});
  BOOST_TEST(q.claim(10, 60000, 69999).empty());
  auto retry = q.claim(10, 60000, 70000);
  BOOST_TEST_REQUIRE(retry.size() == 1u);
  BOOST_TEST(retry[0].attempts == 1u);
  BOOST_TEST(retry[0].first_try_ms == 61000);
  BOOST_TEST(retry[0].pending == std::vector<std::string>{"https://push.example/b"});
  q.settle({"f:unknown", 0, 0, 0, {}}); // unknown keys change nothing
  BOOST_TEST(q.size() == 1u);
}

BOOST_AUTO_TEST_CASE(levels_decide_who_is_pushed) {
  auto m = message("1-0", "hi @bob and @cy");
  BOOST_TEST(pushes_for(m, "bob", ""));
  BOOST_TEST(!pushes_for(m, "dee", "")); // not mentioned, default mentions
  BOOST_TEST(pushes_for(m, "dee", "all"));
  BOOST_TEST(!pushes_for(m, "bob", "none"));
  BOOST_TEST(!pushes_for(m, "ann", "all")); // never one's own
  auto dm = owed_push("_dm.ann.bob", "1-0", "ann", "psst");
  BOOST_TEST(dm.dm);
  BOOST_TEST(pushes_for(dm, "bob", "")); // direct conversations default to all
  BOOST_TEST(!pushes_for(dm, "bob", "mentions"));
  push_candidates c;
  c.at_all = {"dee", "ann"};
  c.parties = {"ann", "bob"};
  BOOST_TEST((c.of(m) == std::vector<std::string>{"bob", "cy", "dee"}));
}

BOOST_AUTO_TEST_CASE(a_push_carries_200_characters_cut_whole) {
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "é";
  auto m = owed_push("lobby", "1-0", "ann", text);
  BOOST_TEST(m.text.size() == 400u); // 200 characters of two bytes
  BOOST_TEST(owed_push("lobby", "1-0", "ann", "short").text == "short");
  claimed_push p;
  p.room = "lobby";
  p.id = "5-1";
  p.sender = "ann";
  p.text = "hi";
  p.count = 3;
  auto payload = nlohmann::json::parse(push_payload(p));
  BOOST_TEST(payload.dump() ==
             R"({"count":3,"dm":false,"id":"5-1","room":"lobby","text":"hi","user":"ann"})");
}

BOOST_AUTO_TEST_CASE(retries_wait_as_the_service_asks_or_back_off) {
  pusher_settings s;
  BOOST_TEST(push_retry_at(s, 0, 5, 1000) == 6000);
  BOOST_TEST(push_retry_at(s, 0, 0, 1000) == 2000);         // at least a second
  BOOST_TEST(push_retry_at(s, 0, 99999, 0) == 3600 * 1000); // at most an hour
  BOOST_TEST(push_retry_at(s, 0, -1, 0) == 10000);
  BOOST_TEST(push_retry_at(s, 3, -1, 0) == 80000);
  BOOST_TEST(push_retry_at(s, 40, -1, 0) == 15 * 60 * 1000);
}

BOOST_AUTO_TEST_SUITE_END()

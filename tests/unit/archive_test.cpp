// The archive's logic without a database: the embedded room log holding what
// is not archived yet, the batch the archive function takes, rows read back
// as messages, and the `search` request and event.

#include "actors/archive/archive.hpp"
#include "actors/embedded_bus/history.hpp"
#include "actors/wire/protocol.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;
using json = nlohmann::json;

BOOST_AUTO_TEST_SUITE(archive)

BOOST_AUTO_TEST_CASE(the_room_log_holds_what_is_not_archived_past_its_retention) {
  room_history log{5};
  log.set_archived(true, 1000);
  for (int i = 0; i < 20; ++i)
    log.append("r", "al", "m" + std::to_string(i), "", 1000 + i);
  BOOST_TEST(log.size() == 20u); // nothing archived: everything stays
  auto all = log.entries_after({}, 100);
  BOOST_REQUIRE(all.size() == 20u);
  BOOST_TEST(all.front().number == 1u);
  BOOST_TEST(all.back().number == 20u);
  BOOST_TEST(log.entries_after(all[9].id, 3).size() == 3u);
  BOOST_TEST((log.entries_after(all[9].id, 3).front().id == all[10].id));
  log.mark_archived(all[11].id);
  log.append("r", "al", "more", "", 2000);
  BOOST_TEST(log.size() == 9u); // the archived ones went down to the retention; the rest wait
  // Pages say there is more: the archive has the older ones.
  auto page = log.page(std::nullopt, 50);
  BOOST_TEST(page.messages.size() == 9u);
  BOOST_TEST(page.more);
}

BOOST_AUTO_TEST_CASE(without_an_archive_the_log_keeps_its_retention_and_pages_end_there) {
  room_history log{5};
  for (int i = 0; i < 20; ++i)
    log.append("r", "al", "m" + std::to_string(i), "", 1000 + i);
  BOOST_TEST(log.size() == 5u);
  BOOST_TEST(!log.page(std::nullopt, 50).more);
}

BOOST_AUTO_TEST_CASE(the_hold_bounds_what_waits_for_the_archive) {
  room_history log{5};
  log.set_archived(true, 60);
  for (int i = 0; i < 100; ++i)
    log.append("r", "al", "m" + std::to_string(i), "", 1000 + i);
  BOOST_TEST(log.entries() == 60u);
}

BOOST_AUTO_TEST_CASE(a_batch_carries_each_entry_as_published) {
  entry_batch batch{{{5, 1}, 3, make_frame(R"({"type":"message","text":"a"})")},
                    {{6, 0}, 3, make_frame(R"({"type":"edit","target":"5-1"})")}};
  auto parsed = json::parse(batch_json(batch));
  BOOST_TEST(parsed.dump() ==
             R"([[5,1,3,{"text":"a","type":"message"}],[6,0,3,{"target":"5-1","type":"edit"}]])");
  BOOST_TEST(batch_json({}) == "[]");
}

BOOST_AUTO_TEST_CASE(rows_come_back_as_messages_as_they_now_are) {
  pg_result rows;
  rows.rows.push_back({"7", "2", "al", "edited text", "7", "c1", "9", "f", R"([["👍", ["bo", "cy"]]])"});
  rows.rows.push_back({"6", "0", "bo", "", "6", std::nullopt, std::nullopt, "t", "[]"});
  auto messages = messages_of_rows("r", rows);
  BOOST_REQUIRE(messages.size() == 2u);
  auto first = json::parse(*messages[0].frame);
  BOOST_TEST(first["id"] == "7-2");
  BOOST_TEST(first["text"] == "edited text");
  BOOST_TEST(first["edited"] == 9);
  BOOST_TEST(first["reactions"]["👍"].size() == 2u);
  auto second = json::parse(*messages[1].frame);
  BOOST_TEST(second["deleted"] == true);
  BOOST_TEST(second["text"] == "");
}

BOOST_AUTO_TEST_CASE(search_requests_are_decoded_and_checked) {
  protocol_limits limits;
  auto ok = decode_request(
    R"({"type":"search","room":"r","query":"  hello world ","before":"5-0","limit":7})", limits);
  auto* req = std::get_if<request>(&ok);
  BOOST_REQUIRE(req != nullptr);
  BOOST_TEST((req->type == request_type::search));
  BOOST_TEST(req->text == "hello world");
  BOOST_TEST(req->limit == 7u);
  BOOST_TEST((req->before == message_id{5, 0}));
  auto plain = std::get<request>(decode_request(R"({"type":"search","room":"r","query":"x"})", limits));
  BOOST_TEST(plain.limit == default_search_page);
  for (const char* bad :
       {R"({"type":"search","room":"r"})", R"({"type":"search","room":"r","query":"   "})",
        R"({"type":"search","room":"r","query":"x","limit":51})",
        R"({"type":"search","room":"r","query":"x","before":"soon"})", R"({"type":"search","query":"x"})"}) {
    auto refused = decode_request(bad, limits);
    BOOST_TEST_INFO(bad);
    BOOST_TEST(std::holds_alternative<decode_error>(refused));
  }
  auto long_query = std::string(R"({"type":"search","room":"r","query":")") + std::string(201, 'a') + "\"}";
  BOOST_TEST(std::holds_alternative<decode_error>(decode_request(long_query, limits)));
}

BOOST_AUTO_TEST_CASE(the_search_event_holds_room_query_messages_and_more) {
  message_page page{{{{1, 0}, make_frame(R"({"type":"message","id":"1-0"})")}}, true};
  auto event = json::parse(encode_search("r", "he said \"hi\"", page));
  BOOST_TEST(event["type"] == "search");
  BOOST_TEST(event["room"] == "r");
  BOOST_TEST(event["query"] == "he said \"hi\"");
  BOOST_TEST(event["messages"].size() == 1u);
  BOOST_TEST(event["more"] == true);
}

BOOST_AUTO_TEST_SUITE_END()

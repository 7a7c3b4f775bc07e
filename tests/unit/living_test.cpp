// Living messages: the embedded room log's rules for changes and read
// positions, the requests and events of PROTOCOL.md's 1.1 section, and
// reading the Redis bus's message states back.

#include "actors/embedded_bus/history.hpp"
#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_entries.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;
using json = nlohmann::json;

namespace {

store_request change(change_kind kind, const std::string& user, message_id target, std::string cid = {}) {
  store_request req;
  req.room = "r";
  req.user = user;
  req.change = kind;
  req.target = target;
  req.cid = std::move(cid);
  return req;
}

store_request reaction(const std::string& user, message_id target, const std::string& emoji, bool on) {
  auto req = change(change_kind::reaction, user, target);
  req.emoji = emoji;
  req.on = on;
  return req;
}

store_request edit(const std::string& user, message_id target, const std::string& text,
                   std::string cid = {}) {
  auto req = change(change_kind::edit, user, target, std::move(cid));
  req.text = text;
  return req;
}

json newest_page(const room_history& h) {
  auto page = h.page(std::nullopt, 100);
  return json::parse(*page.messages.back().frame);
}

} // namespace

BOOST_AUTO_TEST_SUITE(living)

BOOST_AUTO_TEST_CASE(only_the_author_edits_or_deletes_and_a_deleted_message_takes_no_more_changes) {
  room_history h{10};
  auto id = h.append("r", "al", "hello", "", 1000).message.id;
  auto refused = h.append(edit("bo", id, "mine"), 1001);
  BOOST_REQUIRE(refused.refused);
  BOOST_TEST((refused.refused->code == error_code::forbidden));
  BOOST_TEST((h.append(change(change_kind::remove, "bo", id), 1001).refused->code == error_code::forbidden));
  BOOST_TEST((h.append(edit("al", message_id{5, 0}, "x"), 1001).refused->code == error_code::not_found));

  auto edited = h.append(edit("al", id, "hello, all"), 1002);
  BOOST_REQUIRE(!edited.refused);
  auto event = json::parse(*edited.message.frame);
  BOOST_TEST(event["type"] == "edit");
  BOOST_TEST(event["target"] == id.to_string());
  BOOST_TEST(event["text"] == "hello, all");
  auto now = newest_page(h);
  BOOST_TEST(now["text"] == "hello, all");
  BOOST_TEST(now["edited"] == 1002);

  BOOST_TEST(!h.append(change(change_kind::remove, "al", id), 1003).refused);
  now = newest_page(h);
  BOOST_TEST(now["deleted"] == true);
  BOOST_TEST(now["text"] == "");
  BOOST_TEST(!now.contains("edited"));
  BOOST_TEST((h.append(edit("al", id, "back"), 1004).refused->code == error_code::not_found));
  BOOST_TEST((h.append(reaction("bo", id, "👍", true), 1004).refused->code == error_code::not_found));
  BOOST_TEST(h.size() == 1u); // changes are not messages
}

BOOST_AUTO_TEST_CASE(reactions_count_once_per_user_and_emoji_and_show_in_snapshots) {
  room_history h{10};
  auto id = h.append("r", "al", "hello", "", 1000).message.id;
  auto a = h.append(reaction("bo", id, "👍", true), 1001);
  BOOST_TEST(json::parse(*a.message.frame)["count"] == 1);
  auto again = h.append(reaction("bo", id, "👍", true), 1002);
  BOOST_TEST(again.duplicate); // already so: answered, not stored
  auto answer = json::parse(*again.message.frame);
  BOOST_TEST(answer["count"] == 1);
  BOOST_TEST(answer["unchanged"] == true);
  BOOST_TEST(answer["id"] == a.message.id.to_string()); // the target's newest change
  h.append(reaction("al", id, "👍", true), 1003);
  h.append(reaction("al", id, "🎉", true), 1004);
  // In the order first reacted (the frame's order; a parsed object sorts its keys).
  auto frame = *h.page(std::nullopt, 1).messages[0].frame;
  BOOST_TEST(frame.find(R"("reactions":{"👍":["bo","al"],"🎉":["al"]})") != std::string::npos);
  auto off = h.append(reaction("bo", id, "👍", false), 1005);
  BOOST_TEST(json::parse(*off.message.frame)["count"] == 1);
  h.append(reaction("al", id, "👍", false), 1006);
  BOOST_TEST(newest_page(h)["reactions"].dump() == R"({"🎉":["al"]})"); // an emoji nobody uses is gone
  BOOST_TEST(h.append(reaction("bo", id, "👍", false), 1007).duplicate);
}

BOOST_AUTO_TEST_CASE(a_retried_cid_is_applied_once) {
  room_history h{10};
  auto id = h.append("r", "al", "hello", "", 1000).message.id;
  auto first = h.append(edit("al", id, "one", "c1"), 1001);
  h.append(edit("al", id, "two", "c2"), 1002);
  auto retry = h.append(edit("al", id, "one", "c1"), 1003);
  BOOST_TEST(retry.duplicate);
  BOOST_TEST(*retry.message.frame == *first.message.frame);
  BOOST_TEST(newest_page(h)["text"] == "two");
}

BOOST_AUTO_TEST_CASE(resuming_gets_messages_as_they_are_and_the_changes_after_since) {
  room_history h{10};
  auto a = h.append("r", "al", "a", "", 1000).message.id;
  auto b = h.append("r", "al", "b", "", 1001).message.id;
  h.append(edit("al", a, "a2"), 1002);
  h.append(reaction("bo", b, "👍", true), 1003);
  auto since = h.after(a);
  BOOST_REQUIRE(since.messages.messages.size() == 1u);
  BOOST_TEST(json::parse(*since.messages.messages[0].frame)["reactions"]["👍"][0] == "bo");
  BOOST_REQUIRE(since.changes.size() == 2u);
  BOOST_TEST(json::parse(*since.changes[0].frame)["type"] == "edit");
  BOOST_TEST(json::parse(*since.changes[1].frame)["type"] == "reaction");
}

BOOST_AUTO_TEST_CASE(retention_counts_messages_and_trims_changes_with_their_targets) {
  room_history h{3};
  std::vector<message_id> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(h.append("r", "al", std::to_string(i), "", 1000 + i * 10).message.id);
    h.append(reaction("bo", ids.back(), "👍", true), 1001 + i * 10);
  }
  BOOST_TEST(h.size() == 3u);
  BOOST_TEST(h.entries() == 6u); // three messages and their reactions
  auto page = h.page(std::nullopt, 10);
  BOOST_TEST(page.messages.size() == 3u);
  BOOST_TEST(!page.more);
  BOOST_TEST((h.append(edit("al", ids[0], "x"), 2000).refused->code == error_code::not_found));
  // Changes beyond the allowance push out the oldest messages: memory stays bounded.
  for (std::size_t i = 0; i < 3 * change_allowance; ++i)
    h.append(reaction("u" + std::to_string(i), ids[4], "🎉", true), 3000 + static_cast<std::int64_t>(i));
  BOOST_TEST(h.entries() <= 3 * change_allowance);
}

BOOST_AUTO_TEST_CASE(read_positions_move_forward_only_and_count_messages_after_them) {
  room_history h{10};
  BOOST_TEST(!h.mark_read("bo", message_id{1, 0}).has_value()); // nothing to read
  std::vector<message_id> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(h.append("r", "al", std::to_string(i), "", 1000 + i).message.id);
  h.append(reaction("bo", ids[1], "👍", true), 1010); // not a message: not counted
  BOOST_TEST(!h.read_of("bo").id.has_value());
  auto r = h.mark_read("bo", ids[1]);
  BOOST_TEST(r->moved);
  BOOST_TEST(r->position.unread == 3u);
  auto back = h.mark_read("bo", ids[0]);
  BOOST_TEST(!back->moved);
  BOOST_TEST((*back->position.id == ids[1]));
  auto far = h.mark_read("bo", message_id{999999, 0});
  BOOST_TEST(far->moved);
  BOOST_TEST(far->position.unread == 0u);
  BOOST_TEST((*far->position.id <= message_id{999999, 0}));
  h.append("r", "al", "more", "", 1020);
  BOOST_TEST(h.read_of("bo").unread == 1u);
}

BOOST_AUTO_TEST_CASE(decodes_the_living_requests) {
  protocol_limits limits;
  auto edit_req = decode_request(R"({"type":"edit","room":"r","target":"5-1","text":"x","cid":"c"})", limits);
  BOOST_REQUIRE(ok(edit_req));
  BOOST_TEST((std::get<request>(edit_req).type == request_type::edit));
  BOOST_TEST((std::get<request>(edit_req).target == message_id{5, 1}));
  BOOST_TEST(std::get<request>(edit_req).cid == "c");
  auto del = decode_request(R"({"type":"delete","room":"r","target":"5-1"})", limits);
  BOOST_TEST((ok(del) && std::get<request>(del).type == request_type::remove));
  auto react = decode_request(R"({"type":"react","room":"r","target":"5-1","emoji":"👍","on":false})", limits);
  BOOST_REQUIRE(ok(react));
  BOOST_TEST(!std::get<request>(react).on);
  auto read = decode_request(R"({"type":"read","room":"r","id":"7-0"})", limits);
  BOOST_TEST((ok(read) && std::get<request>(read).read == message_id{7, 0}));

  auto code_of = [&](std::string_view frame) { return error_of(decode_request(frame, limits)).code; };
  BOOST_TEST((code_of(R"({"type":"edit","room":"r","text":"x"})") == error_code::bad_request));
  BOOST_TEST(
    (code_of(R"({"type":"react","room":"r","target":"5-1","emoji":"👍"})") == error_code::bad_request));
  BOOST_TEST((code_of(R"({"type":"read","room":"r"})") == error_code::bad_request));
  auto long_edit =
    R"({"type":"edit","room":"r","target":"1-0","cid":"k","text":")" + std::string(4001, 'x') + "\"}";
  auto err = error_of(decode_request(long_edit, limits));
  BOOST_TEST((err.code == error_code::too_large));
  BOOST_TEST(err.cid == "k");
}

BOOST_AUTO_TEST_CASE(emoji_are_one_emoji_and_nothing_else) {
  for (const char* good : {"👍", "🎉", "❤️", "1️⃣", "👍🏽", "👩‍🚀", "🇫🇷", "©️"})
    BOOST_TEST(valid_emoji(good), good);
  for (const char* bad : {"", "a", " ", "<b>", "x👍", "\u200b", "\u200d", "\ufe0f", "👍👍👍👍👍", "\u00a0",
                          "👨‍👩‍👧"}) // the family is 18 bytes
    BOOST_TEST(!valid_emoji(bad), bad);
}

BOOST_AUTO_TEST_CASE(change_templates_match_the_encoder) {
  message_change c{change_kind::reaction, "r", {7, 1}, {5, 0}, "al", "", 0, "👍", true, 3, "c1"};
  auto t = encode_change_template(c);
  BOOST_TEST(t.head + "7-1" + t.middle + "3" + t.tail == encode_change(c));
  auto e = json::parse(encode_change(c));
  BOOST_TEST(e["type"] == "reaction");
  BOOST_TEST(e["count"] == 3);
  BOOST_TEST(!e.contains("ts"));
  c.kind = change_kind::remove;
  c.ts = 77;
  e = json::parse(encode_change(c));
  BOOST_TEST(e["type"] == "delete");
  BOOST_TEST(e["ts"] == 77);
  BOOST_TEST(!e.contains("text"));
  auto joined = json::parse(encode_joined("r", {}, {}, {message_id{3, 0}, 4, {}, {}}));
  BOOST_TEST(joined["read"] == "3-0");
  BOOST_TEST(joined["unread"] == 4);
  BOOST_TEST(json::parse(encode_joined("r", {}, {}))["read"].is_null());
}

BOOST_AUTO_TEST_CASE(redis_states_read_back_as_written_by_the_store_script) {
  std::string text = "original";
  auto state =
    bridge::parse_state(R"({"v":"9-0","e":"1700","t":"edited \/ text","r":[["👍",["a","b"]]]})", text);
  BOOST_TEST(text == "edited / text");
  BOOST_TEST(*state.edited == 1700);
  BOOST_TEST(state.count("👍") == 2u);
  text = "original";
  auto empty = bridge::parse_state(R"({"v":"9-0","r":{}})", text); // Lua's JSON writes an empty list as {}
  BOOST_TEST(empty.reactions.empty());
  BOOST_TEST(text == "original");
  auto deleted = bridge::parse_state(R"({"v":"9-0","d":1})", text);
  BOOST_TEST(deleted.deleted);
  BOOST_TEST(text.empty());
  text = "kept";
  BOOST_TEST((bridge::parse_state("not json", text) == message_state{}));
  BOOST_TEST(text == "kept");
}

BOOST_AUTO_TEST_CASE(a_messages_files_read_back_from_its_redis_entry_as_sent) {
  std::vector<shared_file> files{
    {"AAAAAAAAAAAAAAAAAAAAAA", "a \"b\".png", "image/png", 7, 20, 10, true},
    {"BBBBBBBBBBBBBBBBBBBBBB", "ü.pdf", "application/pdf", 1ULL << 33, 0, 0, false}};
  auto field = bridge::files_field(files);
  BOOST_TEST(bridge::files_of_field(field) == files);
  BOOST_TEST(bridge::files_field({}).empty());
  BOOST_TEST(bridge::files_of_field("").empty());
  // Another shape reads as no files, not as an error.
  for (auto bad : {"not json", "{}", R"([{"i":5}])", R"([{"i":"x","s":"big"}])"})
    BOOST_TEST(bridge::files_of_field(bad).empty(), bad);

  // A message entry with its `f` field is the message with its files.
  redis_reply entry;
  entry.type = redis_reply::kind::array;
  redis_reply id{redis_reply::kind::string, 0, "9-0", {}};
  redis_reply fields{redis_reply::kind::array, 0, {}, {}};
  for (std::string part : {"u", "al", "t", "look", "c", "", "n", "1", "f", field.c_str()})
    fields.elements.push_back({redis_reply::kind::string, 0, part, {}});
  entry.elements = {id, fields};
  auto event = json::parse(*bridge::entry_event("r", entry).frame);
  BOOST_TEST(event["files"].size() == 2u);
  BOOST_TEST(event["files"][0]["width"] == 20);
  BOOST_TEST(event["files"][1]["size"] == (1ULL << 33));
  BOOST_TEST(json::parse(*bridge::entry_now("r", entry, "").frame)["files"] == event["files"]);
}

BOOST_AUTO_TEST_SUITE_END()

#include "actors/wire/protocol.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;
using json = nlohmann::json;

namespace {

const protocol_limits limits{};

request decode_ok(const std::string& frame) {
  auto result = decode_request(frame, limits);
  BOOST_TEST_INFO("frame: " << frame);
  BOOST_REQUIRE(std::holds_alternative<request>(result));
  return std::get<request>(result);
}

decode_error decode_fail(const std::string& frame) {
  auto result = decode_request(frame, limits);
  BOOST_TEST_INFO("frame: " << frame);
  BOOST_REQUIRE(std::holds_alternative<decode_error>(result));
  return std::get<decode_error>(result);
}

void expect_error(const std::string& frame, error_code code) {
  BOOST_TEST_CONTEXT("frame: " << frame) {
    BOOST_TEST(to_string(decode_fail(frame).code) == to_string(code));
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(protocol)

BOOST_AUTO_TEST_CASE(message_ids_parse_print_and_order) {
  auto id = message_id::parse("1700000000000-7");
  BOOST_REQUIRE(id);
  BOOST_TEST(id->ms == 1700000000000u);
  BOOST_TEST(id->seq == 7u);
  BOOST_TEST(id->to_string() == "1700000000000-7");
  for (auto bad :
       {"", "-", "1-", "-1", "1", "a-1", "1-b", "1-2-3", " 1-2", "1-2 ", "-1-2", "18446744073709551616-0"})
    BOOST_TEST(!message_id::parse(bad), "accepted " << bad);
  // Numeric, not lexical, order.
  BOOST_TEST((message_id{9, 0} < message_id{10, 0}));
  BOOST_TEST((message_id{10, 2} < message_id{10, 10}));
  BOOST_TEST((message_id{10, 99} < message_id{11, 0}));
}

BOOST_AUTO_TEST_CASE(decodes_every_request_type) {
  auto join = decode_ok(R"({"type":"join","room":"lobby","name":"  alice  ","since":"5-1"})");
  BOOST_TEST((join.type == request_type::join));
  BOOST_TEST(join.room == "lobby");
  BOOST_TEST(join.name == "alice");
  BOOST_REQUIRE(join.since);
  BOOST_TEST(join.since->to_string() == "5-1");
  // A join's cid is kept, for its refusal; so is a bad join's.
  BOOST_TEST(decode_ok(R"({"type":"join","room":"r","name":"al","cid":"j-1"})").cid == "j-1");
  BOOST_TEST(decode_fail(R"({"type":"join","room":"r","name":"al","cid":"j-2","token":7})").cid == "j-2");

  auto leave = decode_ok(R"({"type":"leave","room":"a.b-c_D9"})");
  BOOST_TEST((leave.type == request_type::leave));

  auto send = decode_ok(R"({"type":"send","room":"r","text":"<b>hi</b> ünï","cid":"c-1"})");
  BOOST_TEST((send.type == request_type::send));
  BOOST_TEST(send.text == "<b>hi</b> ünï");
  BOOST_TEST(send.cid == "c-1");

  auto history = decode_ok(R"({"type":"history","room":"r","before":"10-0","limit":20})");
  BOOST_TEST((history.type == request_type::history));
  BOOST_TEST(history.limit == 20u);
  BOOST_REQUIRE(history.before);
  auto history_default = decode_ok(R"({"type":"history","room":"r"})");
  BOOST_TEST(history_default.limit == 50u);
  BOOST_TEST(!history_default.before);

  auto typing = decode_ok(R"({"type":"typing","room":"r"})");
  BOOST_TEST((typing.type == request_type::typing));

  // Unknown extra fields are ignored, as a protocol that may grow needs.
  decode_ok(R"({"type":"typing","room":"r","extra":{"x":[1,2]}})");
}

BOOST_AUTO_TEST_CASE(the_push_key_is_asked_without_a_room_and_answered_with_the_cid) {
  auto asked = decode_ok(R"({"type":"push_key","cid":"k1"})");
  BOOST_TEST((asked.type == request_type::push_key));
  BOOST_TEST(asked.cid == "k1");
  BOOST_TEST(asked.room.empty());
  BOOST_TEST((decode_ok(R"({"type":"push_key","room":"ignored"})").type == request_type::push_key));
  auto answer = json::parse(encode_push_key("BAbc-_", "k1"));
  BOOST_TEST(answer["type"] == "push_key");
  BOOST_TEST(answer["key"] == "BAbc-_");
  BOOST_TEST(answer["cid"] == "k1");
  BOOST_TEST(!json::parse(encode_push_key("BAbc-_", "")).contains("cid"));
}

BOOST_AUTO_TEST_CASE(a_users_levels_are_asked_without_a_room_and_listed_by_room) {
  auto asked = decode_ok(R"({"type":"notify_levels","cid":"l1"})");
  BOOST_TEST((asked.type == request_type::notify_levels));
  BOOST_TEST(asked.room.empty());
  auto answer = json::parse(encode_notify_levels({{"lobby", "none"}, {"q\"uote", "all"}}, "l1"));
  BOOST_TEST(answer.dump() ==
             R"({"cid":"l1","levels":{"lobby":"none","q\"uote":"all"},"type":"notify_levels"})");
  BOOST_TEST(json::parse(encode_notify_levels({}, ""))["levels"].empty());
}

BOOST_AUTO_TEST_CASE(push_subscriptions_and_levels_are_read_strictly) {
  // As PushSubscription.toJSON() gives them: a 65-byte point and a 16-byte
  // secret, base64url (padding taken and dropped).
  const std::string p256dh = "B" + std::string(86, 'A');
  const std::string auth = std::string(22, 'x');
  auto sub = decode_ok(
    R"({"type":"push_subscribe","endpoint":"https://fcm.googleapis.com/fcm/send/abc","keys":{"p256dh":")" +
    p256dh + R"(","auth":")" + auth + R"(=="},"cid":"s1"})");
  BOOST_TEST((sub.type == request_type::push_subscribe));
  BOOST_TEST(sub.endpoint == "https://fcm.googleapis.com/fcm/send/abc");
  BOOST_TEST(sub.p256dh == p256dh);
  BOOST_TEST(sub.push_secret == auth);
  auto keys = [&](const std::string& k, const std::string& a) {
    return R"({"type":"push_subscribe","endpoint":"https://p.example/x","keys":{"p256dh":")" + k +
           R"(","auth":")" + a + R"("}})";
  };
  expect_error(keys("A" + std::string(86, 'A'), auth), error_code::bad_request); // not an uncompressed point
  expect_error(keys(p256dh + "A", auth), error_code::bad_request);
  expect_error(keys(p256dh, std::string(21, 'x')), error_code::bad_request);
  expect_error(keys(p256dh, std::string(21, 'x') + "+"), error_code::bad_request); // base64, not base64url
  expect_error(R"({"type":"push_subscribe","endpoint":"https://p.example/x"})", error_code::bad_request);
  for (const char* endpoint : {"", "https://", "https:///x", "mailto:a@b", "https://p.example/a b"})
    expect_error(std::string{R"({"type":"push_subscribe","endpoint":")"} + endpoint +
                   R"(","keys":{"p256dh":")" + p256dh + R"(","auth":")" + auth + R"("}})",
                 error_code::bad_request);
  auto unsub = decode_ok(R"({"type":"push_unsubscribe","endpoint":"http://127.0.0.1:9/x"})");
  BOOST_TEST((unsub.type == request_type::push_unsubscribe));
  BOOST_TEST(unsub.endpoint == "http://127.0.0.1:9/x");
  auto notify = decode_ok(R"({"type":"notify","room":"lobby","level":"mentions"})");
  BOOST_TEST((notify.type == request_type::notify));
  BOOST_TEST(notify.level == "mentions");
  expect_error(R"({"type":"notify","room":"lobby","level":"ALL"})", error_code::bad_request);
  expect_error(R"({"type":"notify","level":"all"})", error_code::bad_request);

  auto told = json::parse(encode_notify("lobby", "none"));
  BOOST_TEST(told == json::parse(R"({"type":"notify","room":"lobby","level":"none"})"));
  auto kept = json::parse(encode_push_subscription("push_subscribed", "https://p.example/x", "s1"));
  BOOST_TEST(kept ==
             json::parse(R"({"type":"push_subscribed","endpoint":"https://p.example/x","cid":"s1"})"));
}

BOOST_AUTO_TEST_CASE(thread_follows_are_asked_and_answered) {
  auto threads = decode_ok(R"({"type":"threads","room":"r"})");
  BOOST_TEST((threads.type == request_type::threads));
  auto read = decode_ok(R"({"type":"thread_read","room":"r","root":"5-1","id":"9-0"})");
  BOOST_TEST((read.type == request_type::thread_read));
  BOOST_REQUIRE(read.thread);
  BOOST_TEST(read.thread->to_string() == "5-1");
  BOOST_TEST(read.read.to_string() == "9-0");
  expect_error(R"({"type":"thread_read","room":"r","id":"9-0"})", error_code::bad_request);
  expect_error(R"({"type":"thread_read","room":"r","root":"x","id":"9-0"})", error_code::bad_request);
  expect_error(R"({"type":"thread_read","room":"r","root":"5-1","id":9})", error_code::bad_request);
  expect_error(R"({"type":"threads"})", error_code::bad_request);

  auto unfollowed = json::parse(encode_thread_read("r", message_id{5, 1}, std::nullopt, 0));
  BOOST_TEST(unfollowed["id"].is_null());
  BOOST_TEST(unfollowed["root"] == "5-1");
  followed_threads list;
  list.threads.push_back({message_id{5, 1}, std::nullopt, 2, 3, 70});
  list.threads.push_back({message_id{6, 0}, message_id{8, 0}, 0, 1, std::nullopt});
  auto answer = json::parse(encode_threads("r", list));
  BOOST_TEST(answer["type"] == "threads");
  BOOST_TEST(answer["threads"].size() == 2u);
  BOOST_TEST(answer["threads"][0]["read"].is_null());
  BOOST_TEST(answer["threads"][0]["unread"] == 2);
  BOOST_TEST(answer["threads"][0]["last_reply"] == 70);
  BOOST_TEST(answer["threads"][1]["read"] == "8-0");
  BOOST_TEST(answer["threads"][1]["last_reply"].is_null());
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_json_object) {
  for (auto frame :
       {"", "nonsense", "[]", "[{\"type\":\"join\"}]", "\"join\"", "42", "null", "{", "{\"type\":\"join\",}"})
    expect_error(frame, error_code::bad_json);
}

BOOST_AUTO_TEST_CASE(refuses_deep_nesting_before_parsing) {
  auto nested = [](std::size_t depth) {
    return "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"x\":" + std::string(depth - 1, '[') +
           std::string(depth - 1, ']') + "}";
  };
  BOOST_TEST(std::holds_alternative<request>(decode_request(nested(16), limits)));
  auto err = decode_fail(nested(17));
  BOOST_TEST(to_string(err.code) == "bad_json");
  BOOST_TEST(err.too_deep);
  // A million levels cost one scan, no recursion and no allocation.
  BOOST_TEST(decode_fail(std::string(1'000'000, '[')).too_deep);
  // Brackets inside strings, escaped quotes included, do not count.
  std::string in_text = R"({"type":"send","room":"r","text":"[[[[[[[[[[[[[[[[[[[[\"[[[[[[[[[[[[[[[[[[["})";
  BOOST_TEST(decode_ok(in_text).text.size() == 40u);
  BOOST_TEST(!nesting_exceeds(R"({"a":{"b":[1,2,{"c":[]}]}})", 5));
  BOOST_TEST(nesting_exceeds(R"({"a":{"b":[1,2,{"c":[]}]}})", 4));
}

BOOST_AUTO_TEST_CASE(join_tokens_are_read_as_strings) {
  BOOST_TEST(decode_ok(R"({"type":"join","room":"r","name":"n","token":"a.b.c"})").token == "a.b.c");
  BOOST_TEST(decode_ok(R"({"type":"join","room":"r","name":"n"})").token.empty());
  expect_error(R"({"type":"join","room":"r","name":"n","token":7})", error_code::bad_request);
  expect_error(R"({"type":"join","room":"r","name":"n","token":")" + std::string(4097, 'a') + "\"}",
               error_code::bad_request);
}

BOOST_AUTO_TEST_CASE(refuses_invalid_fields) {
  for (auto frame : {
         R"({})",
         R"({"type":"shout","room":"r"})",
         R"({"type":7,"room":"r"})",
         R"({"type":"join","name":"a"})",
         R"({"type":"join","room":"","name":"a"})",
         R"({"type":"join","room":"has space","name":"a"})",
         R"({"type":"join","room":"ü","name":"a"})",
         R"({"type":"join","room":"../x","name":"a"})",
         R"({"type":"join","room":5,"name":"a"})",
         R"({"type":"join","room":"r"})",
         R"({"type":"join","room":"r","name":"   "})",
         R"({"type":"join","room":"r","name":""})",
         R"({"type":"join","room":"r","name":"a\u0007b"})",
         R"({"type":"join","room":"r","name":"a","since":"yesterday"})",
         R"({"type":"join","room":"r","name":"a","since":5})",
         R"({"type":"send","room":"r"})",
         R"({"type":"send","room":"r","text":""})",
         R"({"type":"send","room":"r","text":42})",
         R"({"type":"send","room":"r","text":"x","cid":7})",
         R"({"type":"history","room":"r","limit":0})",
         R"({"type":"history","room":"r","limit":101})",
         R"({"type":"history","room":"r","limit":"5"})",
         R"({"type":"history","room":"r","limit":2.5})",
         R"({"type":"history","room":"r","limit":1e300})",
         R"({"type":"history","room":"r","before":"x"})",
       })
    expect_error(frame, error_code::bad_request);
  // Room and name length limits count characters.
  expect_error(R"({"type":"join","room":")" + std::string(65, 'a') + R"(","name":"a"})",
               error_code::bad_request);
  decode_ok(R"({"type":"join","room":")" + std::string(64, 'a') + R"(","name":"a"})");
  std::string name32;
  for (int i = 0; i < 32; ++i)
    name32 += "é";
  decode_ok(R"({"type":"join","room":"r","name":")" + name32 + R"("})");
  expect_error(R"({"type":"join","room":"r","name":")" + name32 + R"(x"})", error_code::bad_request);
  expect_error(R"({"type":"send","room":"r","text":"x","cid":")" + std::string(65, 'c') + R"("})",
               error_code::bad_request);
}

BOOST_AUTO_TEST_CASE(text_limit_counts_characters_and_keeps_the_cid) {
  std::string text4000;
  for (int i = 0; i < 4000; ++i)
    text4000 += "ß"; // two bytes, one character
  decode_ok(R"({"type":"send","room":"r","text":")" + text4000 + R"("})");
  auto err = decode_fail(R"({"type":"send","room":"r","cid":"k9","text":")" + text4000 + R"(x"})");
  BOOST_TEST(to_string(err.code) == "too_large");
  BOOST_TEST(err.cid == "k9");
  auto err2 = decode_fail(R"({"type":"send","room":"bad room","cid":"k10","text":"x"})");
  BOOST_TEST(err2.cid == "k10");
}

BOOST_AUTO_TEST_CASE(encoded_events_are_valid_json_with_the_right_fields) {
  chat_message msg{"lobby", {17, 3}, "al\"ice", "line1\nline2 \x01 <img src=x onerror=alert(1)> ✓", 17, "c1"};
  auto m = json::parse(encode_message(msg));
  BOOST_TEST(m["type"] == "message");
  BOOST_TEST(m["room"] == "lobby");
  BOOST_TEST(m["id"] == "17-3");
  BOOST_TEST(m["user"] == "al\"ice");
  BOOST_TEST(m["text"] == msg.text); // never altered
  BOOST_TEST(m["ts"] == 17);
  BOOST_TEST(m["cid"] == "c1");
  msg.cid.clear();
  BOOST_TEST(!json::parse(encode_message(msg)).contains("cid"));

  auto w = json::parse(encode_welcome("n1", "n1-4"));
  BOOST_TEST(w["type"] == "welcome");
  BOOST_TEST(w["node"] == "n1");
  BOOST_TEST(w["session"] == "n1-4");
  BOOST_TEST(w["protocol"] == 1);
  BOOST_TEST(!w.contains("auth"));
  BOOST_TEST(json::parse(encode_welcome("n1", "n1-4", true))["auth"] == "token");

  stored_message stored{msg.id, make_frame(encode_message(msg))};
  message_page page{{stored, stored}, true};
  auto j = json::parse(encode_joined("lobby", {"a", "b"}, page));
  BOOST_TEST(j["type"] == "joined");
  BOOST_TEST(j["members"].size() == 2u);
  BOOST_TEST(j["history"].size() == 2u);
  BOOST_TEST(j["history"][0]["type"] == "message");
  BOOST_TEST(j["history"][1]["text"] == msg.text);
  BOOST_TEST(j["more"] == true);

  auto p = json::parse(encode_presence("lobby", "bob", false, 3));
  BOOST_TEST(p["event"] == "leave");
  BOOST_TEST(p["count"] == 3);
  BOOST_TEST(p["user"] == "bob");

  auto t = json::parse(encode_typing("lobby", "bob"));
  BOOST_TEST(t["type"] == "typing");

  auto h = json::parse(encode_history("lobby", message_page{}));
  BOOST_TEST(h["type"] == "history");
  BOOST_TEST(h["messages"].is_array());
  BOOST_TEST(h["more"] == false);

  auto e = json::parse(encode_error(error_code::rate_limited, "slow \"down\"", "c9"));
  BOOST_TEST(e["code"] == "rate_limited");
  BOOST_TEST(e["reason"] == "slow \"down\"");
  BOOST_TEST(e["cid"] == "c9");
}

BOOST_AUTO_TEST_CASE(message_template_matches_the_encoder) {
  for (std::string cid : {"", "c\"1"}) {
    chat_message msg{"room-1", {1700000000123, 4}, "bob", "a \"quoted\"\n text", 1700000000123, cid};
    auto t = encode_message_template(msg.room, msg.user, msg.text, msg.cid);
    BOOST_TEST(t.head + "1700000000123-4" + t.middle + "1700000000123" + t.tail == encode_message(msg));
  }
}

BOOST_AUTO_TEST_CASE(uploads_decode) {
  auto up = decode_ok(
    R"({"type":"upload","room":"r","name":"a b.PDF","size":1048576,"mime":"Application/PDF; x=1","cid":"u"})");
  BOOST_TEST((up.type == request_type::upload));
  BOOST_TEST(up.file_name == "a b.PDF");
  BOOST_TEST(up.file_size == 1048576u);
  BOOST_TEST(up.mime == "application/pdf"); // lower case, no parameters
  BOOST_TEST(up.cid == "u");
  // Browsers give an empty type for what they do not know.
  BOOST_TEST(decode_ok(R"({"type":"upload","room":"r","name":"x","size":0,"mime":""})").mime ==
             "application/octet-stream");
  BOOST_TEST(decode_ok(R"({"type":"upload","room":"r","name":"x","size":0})").mime ==
             "application/octet-stream");
  BOOST_TEST(decode_ok(R"({"type":"upload","room":"r","name":")" + std::string(255, 'n') + R"(","size":1})")
               .file_name.size() == 255u);
  for (const auto& frame : std::vector<std::string>{
         R"({"type":"upload","room":"r","size":1,"cid":"u"})",
         R"({"type":"upload","room":"r","name":"","size":1,"cid":"u"})",
         R"({"type":"upload","room":"r","name":")" + std::string(256, 'n') + R"(","size":1,"cid":"u"})",
         R"({"type":"upload","room":"r","name":"a\nb","size":1,"cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":-1,"cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":1.5,"cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":"1","cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":1,"mime":"pdf","cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":1,"mime":"text/h tml","cid":"u"})",
         R"({"type":"upload","room":"r","name":"x","size":1,"mime":7,"cid":"u"})",
       }) {
    expect_error(frame, error_code::bad_request);
    BOOST_TEST(decode_fail(frame).cid == "u");
  }
  auto with_files =
    decode_ok(R"({"type":"send","room":"r","files":["AAAAAAAAAAAAAAAAAAAAAA","BBBBBBBBBBBBBBBBBBBBBA"]})");
  BOOST_TEST(with_files.files.size() == 2u);
  BOOST_TEST(with_files.text.empty()); // with files, no text is needed
  for (
    const auto& frame : std::vector<std::string>{
      R"({"type":"send","room":"r","text":"","files":[],"cid":"u"})",
      R"({"type":"send","room":"r","files":["AAAAAAAAAAAAAAAAAAAAAA","AAAAAAAAAAAAAAAAAAAAAA"],"cid":"u"})",
      R"({"type":"send","room":"r","files":["../AAAAAAAAAAAAAAAAAAAA"],"cid":"u"})",
      R"({"type":"send","room":"r","files":"AAAAAAAAAAAAAAAAAAAAAA","cid":"u"})",
    }) {
    expect_error(frame, error_code::bad_request);
    BOOST_TEST(decode_fail(frame).cid == "u");
  }
  chat_message shared{"r",
                      {1, 0},
                      "ann",
                      "",
                      1,
                      "",
                      std::nullopt,
                      std::nullopt,
                      {{"AAAAAAAAAAAAAAAAAAAAAA", "a \"b\".png", "image/png", 10, 4, 3, true},
                       {"BBBBBBBBBBBBBBBBBBBBBA", "c.txt", "text/plain", 2, 0, 0, false}}};
  BOOST_TEST(encode_message(shared) ==
             R"({"type":"message","room":"r","id":"1-0","user":"ann","text":"","ts":1,"files":[)"
             R"({"file":"AAAAAAAAAAAAAAAAAAAAAA","name":"a \"b\".png","size":10,"mime":"image/png",)"
             R"("url":"/files/AAAAAAAAAAAAAAAAAAAAAA/a%20%22b%22.png","width":4,"height":3,)"
             R"("thumb":"/files/thumb/AAAAAAAAAAAAAAAAAAAAAA"},)"
             R"({"file":"BBBBBBBBBBBBBBBBBBBBBA","name":"c.txt","size":2,"mime":"text/plain",)"
             R"("url":"/files/BBBBBBBBBBBBBBBBBBBBBA/c.txt"}]})");
  BOOST_TEST(encode_welcome("n", "s", false, 100).ends_with(R"(,"files":{"max_bytes":100}})"));
  BOOST_TEST(encode_welcome("n", "s").find("files") == std::string::npos);
  BOOST_TEST(encode_upload("r", "f", "/files/upload/t", "c") ==
             R"({"type":"upload","room":"r","file":"f","url":"/files/upload/t","cid":"c"})");
}

BOOST_AUTO_TEST_CASE(replies_and_threads_decode) {
  auto send = decode_ok(R"({"type":"send","room":"r","text":"x","cid":"k","reply_to":"5-1","thread":"4-0"})");
  BOOST_REQUIRE(send.reply_to);
  BOOST_REQUIRE(send.thread);
  BOOST_TEST(send.reply_to->to_string() == "5-1");
  BOOST_TEST(send.thread->to_string() == "4-0");
  auto plain = decode_ok(R"({"type":"send","room":"r","text":"x","reply_to":null})");
  BOOST_TEST(!plain.reply_to);
  BOOST_TEST(!plain.thread);

  auto page = decode_ok(R"({"type":"thread","room":"r","root":"4-0","before":"9-2","limit":100})");
  BOOST_TEST((page.type == request_type::thread));
  BOOST_REQUIRE(page.thread);
  BOOST_TEST(page.thread->to_string() == "4-0");
  BOOST_TEST(page.limit == 100u);
  BOOST_REQUIRE(page.before);
  BOOST_TEST(decode_ok(R"({"type":"thread","room":"r","root":"4-0"})").limit == 50u);

  for (const auto* frame : {
         R"({"type":"send","room":"r","text":"x","cid":"k","reply_to":5})",
         R"({"type":"send","room":"r","text":"x","cid":"k","reply_to":"five"})",
         R"({"type":"send","room":"r","text":"x","cid":"k","thread":["4-0"]})",
         R"({"type":"send","room":"r","text":"x","cid":"k","thread":"4-"})",
       }) {
    expect_error(frame, error_code::bad_request);
    BOOST_TEST(decode_fail(frame).cid == "k");
  }
  for (const auto* frame : {
         R"({"type":"thread","room":"r"})",
         R"({"type":"thread","room":"r","root":4})",
         R"({"type":"thread","room":"r","root":"4-0","limit":0})",
         R"({"type":"thread","room":"r","root":"4-0","limit":101})",
         R"({"type":"thread","room":"r","root":"4-0","limit":"5"})",
         R"({"type":"thread","room":"r","root":"4-0","before":"x"})",
       })
    expect_error(frame, error_code::bad_request);
}

BOOST_AUTO_TEST_CASE(replies_and_threads_encode) {
  chat_message msg{"r", {9, 1}, "al", "re", 9, "c1", message_id{5, 0}, message_id{4, 0}};
  auto m = json::parse(encode_message(msg));
  BOOST_TEST(m["reply_to"] == "5-0");
  BOOST_TEST(m["thread"] == "4-0");
  BOOST_TEST(m["cid"] == "c1");
  BOOST_TEST(!m.contains("replies"));

  message_state root;
  root.replies = 2;
  root.last_reply = 42;
  auto now = json::parse(encode_current_message({"r", {4, 0}, "bo", "root", 4, ""}, root));
  BOOST_TEST(now["replies"] == 2);
  BOOST_TEST(now["last_reply"] == 42);
  root.replies = 0;
  root.last_reply.reset();
  now = json::parse(encode_current_message({"r", {4, 0}, "bo", "root", 4, ""}, root));
  BOOST_TEST(now["replies"] == 0);
  BOOST_TEST(now["last_reply"].is_null());
  BOOST_TEST(!json::parse(encode_current_message(msg, {})).contains("replies")); // not a root

  message_change del{change_kind::remove, "r", {10, 0}, {9, 1}, "al", "", 10, "", true, 0, "c2"};
  BOOST_TEST(!json::parse(encode_change(del)).contains("thread"));
  del.thread = message_id{4, 0};
  del.replies = 1;
  del.last_reply = 8;
  auto d = json::parse(encode_change(del));
  BOOST_TEST(d["thread"] == "4-0");
  BOOST_TEST(d["replies"] == 1);
  BOOST_TEST(d["last_reply"] == 8);
  BOOST_TEST(d["cid"] == "c2");

  message_page page{{{msg.id, make_frame(encode_message(msg))}}, true};
  auto t = json::parse(encode_thread("r", {4, 0}, page));
  BOOST_TEST(t["type"] == "thread");
  BOOST_TEST(t["root"] == "4-0");
  BOOST_TEST(t["messages"].size() == 1u);
  BOOST_TEST(t["more"] == true);
}

BOOST_AUTO_TEST_CASE(thread_fragments_make_what_the_encoders_do) {
  // The Redis store writes the thread into the template's gap after the ts.
  const auto& f = thread_fields();
  chat_message msg{"r", {9, 1}, "al", "re", 9, "c1", message_id{5, 0}, message_id{4, 0}};
  auto t = encode_message_template(msg.room, msg.user, msg.text, msg.cid, msg.reply_to);
  BOOST_TEST(t.head + "9-1" + t.middle + "9" + f.open + "4-0" + f.close + t.tail == encode_message(msg));
  // (1.2) A message's files come after the reply, before the cid.
  msg.files = {{"AAAAAAAAAAAAAAAAAAAAAA", "a b.png", "image/png", 7, 20, 10, true},
               {"BBBBBBBBBBBBBBBBBBBBBB", "c.pdf", "application/pdf", 9, 0, 0, false}};
  t = encode_message_template(msg.room, msg.user, msg.text, msg.cid, msg.reply_to, msg.files);
  BOOST_TEST(t.head + "9-1" + t.middle + "9" + f.open + "4-0" + f.close + t.tail == encode_message(msg));

  message_change del{change_kind::remove, "r", {10, 0}, {9, 1}, "al", "", 10, "", true, 0, "c2"};
  del.thread = message_id{4, 0};
  del.replies = 3;
  auto c = encode_change_template(del);
  BOOST_TEST(c.head + "10-0" + c.middle + "10" + f.open + "4-0" + f.close + f.replies + "3" + f.last_reply +
               "null" + c.tail ==
             encode_change(del));
}

BOOST_AUTO_TEST_CASE(utf8_length_counts_code_points) {
  BOOST_TEST(utf8_length("") == 0u);
  BOOST_TEST(utf8_length("abc") == 3u);
  BOOST_TEST(utf8_length("ünï") == 3u);
  BOOST_TEST(utf8_length("😀") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

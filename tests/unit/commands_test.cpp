// (1.2) Slash commands as text: what a typed text calls, the call's body,
// and the answers a service may give.

#include "actors/commands/command_call.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(commands_tests)

BOOST_AUTO_TEST_CASE(a_typed_text_calls_a_command_only_when_it_looks_like_one) {
  auto deploy = command_of("/deploy api v2");
  BOOST_REQUIRE(deploy);
  BOOST_TEST(deploy->name == "deploy");
  BOOST_TEST(deploy->args == "api v2");
  auto bare = command_of("/roll");
  BOOST_REQUIRE(bare);
  BOOST_TEST(bare->args.empty());
  auto spaced = command_of("/echo   hello  world\nsecond line");
  BOOST_REQUIRE(spaced);
  BOOST_TEST(spaced->args == "hello  world\nsecond line");
  BOOST_TEST(!command_of("//not a command")); // a message that starts with "/"
  BOOST_TEST(!command_of("/usr/local/bin"));  // a path
  BOOST_TEST(!command_of("/Deploy"));         // names are lower case
  BOOST_TEST(!command_of("/"));
  BOOST_TEST(!command_of("hello /deploy"));
  BOOST_TEST(!command_of("/" + std::string(33, 'a'))); // too long a name
}

BOOST_AUTO_TEST_CASE(the_call_says_who_typed_what_where) {
  command_request req{"ops", "ada", "deploy", "api \"v2\"", "c1", message_id{5, 1}};
  auto body = nlohmann::json::parse(command_call_body(req, 1700000000000));
  BOOST_TEST(body["type"] == "command");
  BOOST_TEST(body["command"] == "deploy");
  BOOST_TEST(body["text"] == "api \"v2\"");
  BOOST_TEST(body["room"] == "ops");
  BOOST_TEST(body["user"] == "ada");
  BOOST_TEST(body["cid"] == "c1");
  BOOST_TEST(body["thread"] == "5-1");
  BOOST_TEST(body["ts"] == 1700000000000);
}

BOOST_AUTO_TEST_CASE(answers_for_the_room_or_the_caller) {
  auto room = parse_command_answer(R"({"text":"deployed","visibility":"room"})");
  BOOST_REQUIRE(ok(room));
  BOOST_TEST(std::get<command_reply>(room).to_room);
  BOOST_TEST(std::get<command_reply>(room).text == "deployed");
  auto caller = parse_command_answer(R"({"text":"only you"})");
  BOOST_REQUIRE(ok(caller));
  BOOST_TEST(!std::get<command_reply>(caller).to_room);
  auto nothing = parse_command_answer("  \n");
  BOOST_REQUIRE(ok(nothing));
  BOOST_TEST(std::get<command_reply>(nothing).text.empty());
  BOOST_TEST(!ok(parse_command_answer("not json")));
  BOOST_TEST(!ok(parse_command_answer(R"(["text"])")));
  BOOST_TEST(!ok(parse_command_answer(R"({"text":5})")));
  BOOST_TEST(!ok(parse_command_answer(R"({"text":"x","visibility":"everyone"})")));
}

BOOST_AUTO_TEST_SUITE_END()

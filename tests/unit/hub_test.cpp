// The hub and the embedded bus together, on CAF's deterministic test
// scheduler: fan-out, ordering, presence, typing and join-time history.

#include "actors/embedded_bus/embedded_bus.hpp"
#include "actors/people/directory.hpp"
#include "actors/chat/hub.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/chat/session.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "tests/unit/recording_sink.hpp"

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;
using json = nlohmann::json;
using chatnode::testing::recording_sink;

namespace {

struct hub_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  stats_ptr stats = std::make_shared<chat_stats>();
  bus_actor bus;
  hub_actor hub;

  hub_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    bus = spawn_embedded_bus(*sys, bus_settings{100}, stats);
    hub = spawn_hub(*sys, bus, stats);
    sched->run();
  }

  ~hub_fixture() {
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    sched->run();
  }

  std::shared_ptr<recording_sink> join(const std::string& room, const std::string& name,
                                       const std::string& session,
                                       std::optional<message_id> since = std::nullopt) {
    auto sink = std::make_shared<recording_sink>();
    caf::anon_send(hub, enter_atom::value,
                   join_request{room, name, session, sink, since, 50, {}, {}, {}, {}});
    sched->run();
    return sink;
  }

  void post(const std::string& room, const std::string& user, const std::string& text) {
    caf::anon_send(bus, store_atom::value, message_request(room, user, text));
    sched->run();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(hub, hub_fixture)

BOOST_AUTO_TEST_CASE(an_error_sent_to_the_hub_or_the_bus_stops_neither) {
  caf::anon_send(caf::actor_cast<caf::actor>(hub), caf::make_error(caf::sec::unexpected_message));
  caf::anon_send(caf::actor_cast<caf::actor>(bus), caf::make_error(caf::sec::unexpected_message));
  sched->run();
  auto alice = join("lobby", "alice", "s1");
  BOOST_TEST(alice->of_type("joined").size() == 1u);
  post("lobby", "bob", "still here");
  BOOST_TEST(alice->of_type("message").size() == 1u);
}

BOOST_AUTO_TEST_CASE(members_get_joined_then_messages_encoded_once) {
  auto alice = join("lobby", "alice", "s1");
  auto joined = alice->of_type("joined");
  BOOST_REQUIRE(joined.size() == 1u);
  BOOST_TEST(joined[0]["members"] == json::array({"alice"}));

  auto bob = join("lobby", "bob", "s2");
  auto presence = alice->of_type("presence");
  BOOST_REQUIRE(presence.size() == 1u);
  BOOST_TEST(presence[0]["user"] == "bob");
  BOOST_TEST(presence[0]["event"] == "join");
  BOOST_TEST(presence[0]["count"] == 2);
  BOOST_TEST(bob->of_type("joined")[0]["members"] == json::array({"alice", "bob"}));

  auto outsider = join("other", "carol", "s3");
  for (int i = 0; i < 5; ++i)
    post("lobby", "alice", "m" + std::to_string(i));

  auto a = alice->of_type("message");
  auto b = bob->of_type("message");
  BOOST_REQUIRE(a.size() == 5u);
  BOOST_TEST(a == b);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(a[i]["text"] == "m" + std::to_string(i));
  BOOST_TEST(outsider->of_type("message").empty());
  // One encoding shared by every recipient: the very same buffer.
  BOOST_TEST(alice->frames().back().get() == bob->frames().back().get());
}

BOOST_AUTO_TEST_CASE(join_gets_history_and_since_gets_exactly_the_rest) {
  for (int i = 0; i < 10; ++i)
    post("r", "x", std::to_string(i));
  // Nobody was subscribed, yet the bus kept the history.
  auto first = join("r", "alice", "s1");
  auto joined = first->of_type("joined");
  BOOST_REQUIRE(joined.size() == 1u);
  BOOST_REQUIRE(joined[0]["history"].size() == 10u);
  auto fourth = message_id::parse(joined[0]["history"][3]["id"].get<std::string>());

  auto resumed = join("r", "bob", "s2", fourth);
  auto history = resumed->of_type("joined")[0]["history"];
  BOOST_REQUIRE(history.size() == 6u);
  BOOST_TEST(history[0]["text"] == "4");
  BOOST_TEST(history[5]["text"] == "9");
}

BOOST_AUTO_TEST_CASE(same_name_twice_is_one_member_and_leave_is_announced_once) {
  auto watcher = join("r", "w", "s0");
  auto tab1 = join("r", "alice", "s1");
  auto tab2 = join("r", "alice", "s2");
  auto presence = watcher->of_type("presence");
  BOOST_REQUIRE(presence.size() == 1u); // the second tab is no new member
  BOOST_TEST(tab2->of_type("joined")[0]["members"].size() == 2u);

  caf::anon_send(hub, leave_atom::value, std::string{"r"}, std::string{"s1"});
  sched->run();
  BOOST_TEST(watcher->of_type("presence").empty());
  caf::anon_send(hub, leave_atom::value, std::string{"r"}, std::string{"s2"});
  sched->run();
  auto left = watcher->of_type("presence");
  BOOST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0]["event"] == "leave");
  BOOST_TEST(left[0]["count"] == 1);
}

BOOST_AUTO_TEST_CASE(a_room_that_empties_and_fills_at_once_keeps_presence_versions_in_order) {
  for (const char* name : {"x", "y"})
    join("r", name, std::string{"s-"} + name);
  auto resyncs = stats->presence_resyncs.load();
  // Both leave and bob enters before anyone runs: the bus's leave events
  // reach the hub's new room for bob, ahead of bob's own join.
  caf::anon_send(hub, leave_atom::value, std::string{"r"}, std::string{"s-x"});
  caf::anon_send(hub, leave_atom::value, std::string{"r"}, std::string{"s-y"});
  auto bob = std::make_shared<recording_sink>();
  caf::anon_send(hub, enter_atom::value,
                 join_request{"r", "bob", "s-bob", bob, std::nullopt, 50, {}, {}, {}, {}});
  sched->run();
  BOOST_TEST(bob->of_type("joined")[0]["members"] == json::array({"bob"}));
  join("r", "carol", "s-carol");
  auto presence = bob->of_type("presence");
  BOOST_REQUIRE(presence.size() == 1u);
  BOOST_TEST(presence[0]["user"] == "carol");
  BOOST_TEST(stats->presence_resyncs.load() == resyncs); // no version went back
}

BOOST_AUTO_TEST_CASE(typing_reaches_the_others_only) {
  auto alice = join("r", "alice", "s1");
  auto bob = join("r", "bob", "s2");
  alice->take();
  caf::anon_send(bus, typing_atom::value, std::string{"r"}, std::string{"bob"}, std::string{"s2"});
  sched->run();
  auto typing = alice->of_type("typing");
  BOOST_REQUIRE(typing.size() == 1u);
  BOOST_TEST(typing[0]["user"] == "bob");
  BOOST_TEST(bob->of_type("typing").empty());
}

BOOST_AUTO_TEST_CASE(session_answers_errors_and_acknowledges_by_echo) {
  auto sink = std::make_shared<recording_sink>();
  session_settings settings;
  settings.node = "n1";
  auto session = spawn_session(*sys, sink, "n1-1", hub, bus, spawn_directory(*sys, bus),
                               std::make_shared<const session_settings>(settings), stats);
  sched->run();
  auto welcome = sink->take();
  BOOST_REQUIRE(welcome.size() == 1u);
  BOOST_TEST(welcome[0]["type"] == "welcome");

  auto frame = [&](const std::string& text) {
    caf::anon_send(session, frame_atom::value, text);
    sched->run();
    return sink->take();
  };
  auto not_joined = frame(R"({"type":"send","room":"r","text":"x","cid":"a"})");
  BOOST_REQUIRE(not_joined.size() == 1u);
  BOOST_TEST(not_joined[0]["code"] == "not_joined");
  BOOST_TEST(not_joined[0]["cid"] == "a");

  frame(R"({"type":"join","room":"r","name":"alice"})");
  auto echo = frame(R"({"type":"send","room":"r","text":"hello","cid":"c1"})");
  BOOST_REQUIRE(echo.size() == 1u);
  BOOST_TEST(echo[0]["type"] == "message");
  BOOST_TEST(echo[0]["cid"] == "c1");
  auto retry = frame(R"({"type":"send","room":"r","text":"hello","cid":"c1"})");
  BOOST_REQUIRE(retry.size() == 1u);
  BOOST_TEST(retry[0]["id"] == echo[0]["id"]);

  caf::anon_send(session, binary_atom::value);
  sched->run();
  BOOST_TEST(sink->take()[0]["code"] == "bad_json");

  caf::anon_send(session, closed_atom::value);
  sched->run();
}

BOOST_AUTO_TEST_CASE(rate_limit_drops_with_an_error_each) {
  auto sink = std::make_shared<recording_sink>();
  session_settings settings;
  settings.rate_per_second = 0.01; // effectively no refill during the test
  settings.rate_burst = 3;
  auto session = spawn_session(*sys, sink, "n1-2", hub, bus, spawn_directory(*sys, bus),
                               std::make_shared<const session_settings>(settings), stats);
  caf::anon_send(session, frame_atom::value, std::string{R"({"type":"join","room":"r","name":"a"})"});
  sched->run(); // the join takes one token of the three
  for (int i = 0; i < 5; ++i)
    caf::anon_send(
      session, frame_atom::value,
      std::string{R"({"type":"send","room":"r","text":"x","cid":"k)"} + std::to_string(i) + "\"}");
  sched->run();
  int messages = 0, limited = 0;
  for (auto& e : sink->take()) {
    messages += e["type"] == "message";
    limited += e["type"] == "error" && e["code"] == "rate_limited";
  }
  BOOST_TEST(messages == 2);
  BOOST_TEST(limited == 3);
  caf::anon_send(session, closed_atom::value);
  sched->run();
}

BOOST_AUTO_TEST_SUITE_END()

// The Redis bridge over a fake redis_port, on CAF's deterministic test
// scheduler: the test sees every command the bridge sends and answers it,
// so orders of events that a real Redis makes rare are played on purpose.

#include "actors/contracts/interfaces.hpp"
#include "actors/redis_bus/redis_bridge.hpp"
#include "actors/redis_bus/redis_bridge_state.hpp"
#include "actors/redis_bus/redis_port.hpp"

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <deque>
#include <optional>

using namespace chatnode;

namespace {

/// Records every command; the test answers them in order.
class fake_redis : public redis_port {
public:
  struct sent {
    std::vector<std::string> args;
    redis_callback done;
    int replicas = 0; ///< > 0: sent with command_replicated
  };

  void command(std::vector<std::string> args, redis_callback done) override {
    pending.push_back({std::move(args), std::move(done), 0});
  }
  void command_replicated(std::vector<std::string> args, int replicas, std::chrono::milliseconds,
                          redis_callback done) override {
    pending.push_back({std::move(args), std::move(done), replicas});
  }
  void subscribe(std::vector<std::string> channels) override {
    subscribed.insert(subscribed.end(), channels.begin(), channels.end());
  }
  void unsubscribe(std::vector<std::string>) override {}

  /// The oldest command not yet answered.
  sent take() {
    BOOST_REQUIRE_MESSAGE(!pending.empty(), "the bridge sent no command");
    auto s = std::move(pending.front());
    pending.pop_front();
    return s;
  }

  std::deque<sent> pending;
  std::vector<std::string> subscribed;
};

redis_reply text(std::string s) {
  return {redis_reply::kind::string, 0, std::move(s), {}};
}
redis_reply integer(long long n) {
  return {redis_reply::kind::integer, n, {}, {}};
}
redis_reply array(std::vector<redis_reply> elements) {
  return {redis_reply::kind::array, 0, {}, std::move(elements)};
}
/// A stream entry as XRANGE answers it.
redis_reply entry(const std::string& id, const std::string& user, const std::string& msg) {
  return array({text(id), array({text("u"), text(user), text("t"), text(msg), text("c"), text("")})});
}

/// The EVALSHA's ARGV: what follows its keys.
std::vector<std::string> script_args(const std::vector<std::string>& cmd) {
  BOOST_REQUIRE(cmd.size() >= 3);
  auto keys = std::stoul(cmd[2]);
  return {cmd.begin() + 3 + static_cast<long>(keys), cmd.end()};
}

struct bridge_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<fake_redis> commands = std::make_shared<fake_redis>();
  std::shared_ptr<fake_redis> subscriber = std::make_shared<fake_redis>();
  std::shared_ptr<bus_actor> bridge = std::make_shared<bus_actor>();
  hub_actor hub;
  std::shared_ptr<std::vector<message_id>> delivered = std::make_shared<std::vector<message_id>>();
  const std::string room = "lobby";
  const std::string channel = "chatnode:{lobby}:live";

  explicit bridge_fixture(int wait_replicas = 1) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    redis_bridge_settings settings;
    settings.node = "n1";
    settings.incarnation = "i1";
    settings.wait_replicas = wait_replicas;
    *bridge = spawn_redis_bridge(*sys, commands, subscriber, settings, std::make_shared<chat_stats>());
    // A hub that records deliveries and takes everything else a hub takes
    // (a message it did not take would come back to the bridge as an error).
    // (Function actors get their state as arguments: CAF 0.17 trips UBSan
    // on a function actor spawned without any.)
    hub = sys->spawn(
      [](hub_actor::pointer, std::shared_ptr<std::vector<message_id>> delivered) -> hub_actor::behavior_type {
        return {
          [](enter_atom, const join_request&) {},
          [](leave_atom, const std::string&, const std::string&) {},
          [delivered](deliver_atom, const std::string&, const stored_message& m) {
            delivered->push_back(m.id);
          },
          [](resync_atom, const std::string&) {},
          [](read_atom, const std::string&, const read_notice&) {},
          [](kick_atom, const std::string&, const kick_notice&) {},
          [](notice_atom, const user_notice&) {},
          [](presence_atom, const std::string&, const presence_event&) {},
          [](typing_atom, const std::string&, const std::string&, const std::string&) {},
          [](members_atom, const std::string&, const members_query&) {},
          [](flush_atom, const std::string&, std::uint64_t) {},
        };
      },
      delivered);
    forward_redis_events(bridge, redis_link::commands).up();
    forward_redis_events(bridge, redis_link::subscriber).up();
    sched->run();
  }

  ~bridge_fixture() {
    caf::anon_send_exit(*bridge, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    sched->run();
  }

  /// Answers the oldest command and lets the bridge act on the answer.
  fake_redis::sent answer(redis_reply reply) {
    auto s = commands->take();
    s.done(std::move(reply));
    sched->run();
    return s;
  }

  void publish(const std::string& payload) {
    forward_redis_events(bridge, redis_link::subscriber).message(channel, payload);
    sched->run();
  }

  /// The room subscribed, its first catch-up answered: the newest readable
  /// entry is `newest`.
  void subscribe_room(const std::string& newest) {
    caf::anon_send(*bridge, subscribe_atom::value, room, hub);
    sched->run();
    // The people channel from the start, then the room's.
    BOOST_REQUIRE((subscriber->subscribed == std::vector<std::string>{"chatnode:{people}:live", channel}));
    forward_redis_events(bridge, redis_link::subscriber).subscribed(channel);
    sched->run();
    auto first = answer(array({text(newest)}));
    BOOST_TEST(script_args(first.args)[0] == ""); // only the id to start from
  }

  /// What a store request got: its result, or a refusal.
  struct store_answer {
    std::optional<store_result> result;
    bool refused = false;
  };

  /// Asks the bridge to store a message, as a session does.
  std::shared_ptr<store_answer> request_store(const std::string& cid) {
    auto answer = std::make_shared<store_answer>();
    sys->spawn(
      [](caf::event_based_actor* self, bus_actor b, std::string cid, std::shared_ptr<store_answer> a) {
        self
          ->request(b, caf::infinite, store_atom::value, message_request("lobby", "al", "hi", std::move(cid)))
          .then([a](const store_result& r) { a->result = r; }, [a](const caf::error&) { a->refused = true; });
      },
      *bridge, cid, answer);
    sched->run();
    return answer;
  }

  static std::string frame(const std::string& id) { return R"({"type":"message","id":")" + id + R"("})"; }
};

message_id id(const std::string& text) {
  return *message_id::parse(text);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(redis_bridge, bridge_fixture)

BOOST_AUTO_TEST_CASE(a_message_published_ahead_of_an_earlier_one_waits_for_the_stream_read) {
  subscribe_room("5-0");
  // 7-0 comes first, naming 6-0 before it: 6-0 is read from the stream.
  publish("d7-0 6-0\n" + frame("7-0"));
  BOOST_TEST(delivered->empty());
  auto read = answer(array({entry("6-0", "bo", "six"), entry("7-0", "al", "seven")}));
  auto args = script_args(read.args);
  BOOST_TEST(args[0] == "5-0"); // after what was handed on
  BOOST_TEST(args[1] == "7-0"); // at least up to the published one
  BOOST_TEST(args[3] == "1");   // no further than the watermark otherwise
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0")}));
  // 6-0 published late: already handed on, not again.
  publish("d6-0 5-0\n" + frame("6-0"));
  // 8-0 follows 7-0: handed on at once, no read.
  publish("d8-0 7-0\n" + frame("8-0"));
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0"), id("8-0")}));
  BOOST_TEST(commands->pending.empty());
}

BOOST_AUTO_TEST_CASE(messages_that_come_during_a_read_are_handed_on_after_it_in_id_order) {
  subscribe_room("5-0");
  publish("d7-0 6-0\n" + frame("7-0"));
  // While the read is out: 9-0 (after 8-0) and then 8-0 (after 7-0).
  publish("d9-0 8-0\n" + frame("9-0"));
  publish("d8-0 7-0\n" + frame("8-0"));
  answer(array({entry("6-0", "bo", "six"), entry("7-0", "al", "seven")}));
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0"), id("8-0"), id("9-0")}));
  BOOST_TEST(commands->pending.empty());
}

BOOST_AUTO_TEST_CASE(a_held_message_whose_predecessor_is_still_missing_reads_on) {
  subscribe_room("5-0");
  publish("d7-0 6-0\n" + frame("7-0"));
  publish("d9-0 8-0\n" + frame("9-0")); // held; 8-0 not published yet
  // The first read ends at 7-0 (the watermark had not reached 9-0 yet).
  answer(array({entry("6-0", "bo", "six"), entry("7-0", "al", "seven")}));
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0")}));
  auto second = answer(array({entry("8-0", "bo", "eight"), entry("9-0", "al", "nine")}));
  BOOST_TEST(script_args(second.args)[0] == "7-0");
  BOOST_TEST(script_args(second.args)[1] == "9-0");
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0"), id("8-0"), id("9-0")}));
}

BOOST_AUTO_TEST_CASE(an_error_sent_to_the_bridge_does_not_stop_it) {
  caf::anon_send(caf::actor_cast<caf::actor>(*bridge), caf::make_error(caf::sec::unexpected_message));
  sched->run();
  subscribe_room("5-0"); // still answers
  publish("d6-0 5-0\n" + frame("6-0"));
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0")}));
}

BOOST_AUTO_TEST_CASE(a_store_is_published_and_acknowledged_only_after_its_replicas_have_it) {
  auto asked = request_store("c1");
  auto store = commands->take();
  BOOST_TEST(store.replicas == 1);              // sent with WAIT
  BOOST_TEST(script_args(store.args)[9] == ""); // no publish command: the script does not publish
  store.done(array({text("new"), text("12-0"), text(frame("12-0")), text("11-0")}));
  sched->run();
  BOOST_TEST(!asked->result.has_value()); // not yet: nobody has seen it
  auto publish = commands->take();
  auto args = script_args(publish.args);
  BOOST_TEST(args[0] == "12-0");
  BOOST_TEST(args[1] == "11-0"); // the entry before it
  BOOST_TEST(args[3] == "PUBLISH");
  publish.done(integer(1));
  sched->run();
  BOOST_REQUIRE(asked->result.has_value());
  BOOST_TEST((asked->result->message.id == id("12-0")));
  BOOST_TEST(!asked->refused);
}

BOOST_AUTO_TEST_CASE(a_store_its_replicas_did_not_confirm_is_refused_and_not_published) {
  auto stored = request_store("c1");
  answer(redis_reply::error("NOTREPLICATED reached 0 of 1 replicas in time"));
  BOOST_TEST(stored->refused);
  BOOST_TEST(commands->pending.empty()); // nothing published
}

BOOST_AUTO_TEST_CASE(a_script_redis_does_not_know_is_sent_by_its_source) {
  request_store("");
  auto first = answer(redis_reply::error("NOSCRIPT No matching script"));
  BOOST_TEST(first.args[0] == "EVALSHA");
  auto again = commands->take();
  BOOST_TEST(again.args[0] == "EVAL");
  BOOST_TEST(again.replicas == 1); // still waits for its replicas
  BOOST_TEST((std::vector<std::string>(again.args.begin() + 2, again.args.end()) ==
              std::vector<std::string>(first.args.begin() + 2, first.args.end())));
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
struct unreplicated_fixture : bridge_fixture {
  unreplicated_fixture()
    : bridge_fixture(0) {}
};
} // namespace

BOOST_FIXTURE_TEST_SUITE(redis_bridge_unreplicated, unreplicated_fixture)

BOOST_AUTO_TEST_CASE(a_channel_dropped_alone_is_read_back_once_subscribed_again) {
  subscribe_room("5-0");
  publish("m6-0\n" + frame("6-0"));
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0")}));
  // The slot moved: the channel is gone until subscribed on the new master.
  forward_redis_events(bridge, redis_link::subscriber).unsubscribed(channel);
  sched->run();

  publish("m7-0\n" + frame("7-0")); // a straggler from the old master: held

  forward_redis_events(bridge, redis_link::subscriber).subscribed(channel);
  sched->run();
  auto read = answer(array({entry("7-0", "al", "seven"), entry("8-0", "bo", "eight")}));
  BOOST_TEST(script_args(read.args)[0] == "6-0");
  BOOST_TEST(script_args(read.args)[3] == "0"); // the whole stream is readable
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0"), id("8-0")}));
}

BOOST_AUTO_TEST_CASE(a_read_back_that_fails_is_tried_again_soon_not_at_the_next_heartbeat) {
  subscribe_room("5-0");
  forward_redis_events(bridge, redis_link::subscriber).unsubscribed(channel);
  sched->run();
  // Subscribed on a new master before the command link to it is up: the
  // read fails, and messages that come meanwhile wait for it.
  forward_redis_events(bridge, redis_link::subscriber).subscribed(channel);
  sched->run();
  answer(redis_reply::error("redis shard 127.0.0.1:7001 is not connected"));
  publish("m7-0\n" + frame("7-0"));
  BOOST_TEST(delivered->empty());
  BOOST_TEST(commands->pending.empty());
  // Well before the heartbeat (a third of presence_ttl) it is read again.
  sched->clock().advance_time(std::chrono::milliseconds{100});
  sched->run();
  BOOST_REQUIRE(commands->pending.size() == 1u);
  answer(redis_reply::error("redis shard 127.0.0.1:7001 is not connected"));
  sched->clock().advance_time(std::chrono::milliseconds{200}); // backing off
  sched->run();
  auto read = answer(array({entry("6-0", "al", "six"), entry("7-0", "bo", "seven")}));
  BOOST_TEST(script_args(read.args)[0] == "5-0");
  BOOST_TEST((*delivered == std::vector<message_id>{id("6-0"), id("7-0")}));
}

BOOST_AUTO_TEST_CASE(a_store_publishes_in_its_script_and_answers_at_once) {
  auto asked = request_store("c1");
  auto store = commands->take();
  BOOST_TEST(store.replicas == 0);
  BOOST_TEST(script_args(store.args)[9] == "PUBLISH"); // ARGV[10], the publish command
  store.done(array({text("new"), text("12-0"), text(frame("12-0")), text("")}));
  sched->run();
  BOOST_REQUIRE(asked->result.has_value());
  BOOST_TEST(commands->pending.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(told_names_count)

BOOST_AUTO_TEST_CASE(others_present_follows_joins_leaves_and_confirmed_absences) {
  chatnode::bridge::told_names room;
  BOOST_TEST(!room.others_present("al"));
  room.set("al", true);
  BOOST_TEST(!room.others_present("al")); // only itself
  BOOST_TEST(room.others_present("bo"));
  room.set("bo", true);
  room.set("bo", true); // told twice, counted once
  BOOST_TEST(room.present_count == 2u);
  room.set("al", false);
  BOOST_TEST(room.others_present("al"));
  BOOST_TEST(!room.others_present("bo"));
  room.forget_absent("bo"); // present: kept
  room.forget_absent("al");
  BOOST_TEST(room.present.size() == 1u);
  BOOST_TEST(room.present_count == 1u);
  room.set("bo", false);
  BOOST_TEST(room.present_count == 0u);
  BOOST_TEST(!room.others_present("cy"));
}

BOOST_AUTO_TEST_SUITE_END()

// The hub's presence view against a scripted bus: events that change nothing
// reach nobody, missed events are made good from the bus's answer without
// undoing what came while it was asked, and a bus that started its versions
// over is believed. Big rooms: changes go out in batches, each member hears
// those among the names it holds, and member lists come in pages.

#include "actors/chat/hub.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/wire/protocol.hpp"
#include "tests/unit/recording_sink.hpp"

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include <set>

using namespace chatnode;
using json = nlohmann::json;
using chatnode::testing::recording_sink;

namespace {

/// What the scripted bus answers, and how often it was asked who is there.
struct bus_truth {
  std::vector<std::string> members;
  std::uint64_t version = 0;
  int who_asked = 0;
};

bus_actor::behavior_type scripted_bus(bus_actor::pointer, std::shared_ptr<bus_truth> truth) {
  return {
    [](store_atom, const store_request&) { return store_result{}; },
    [](read_atom, const read_request&) { return read_result{}; },
    [](admit_atom, const admit_request&) { return admission{}; },
    [](moderate_atom, const moderation_request&) { return store_result{}; },
    [](dm_atom, const dm_request&) { return std::string{}; },
    [](rooms_atom) { return directory_listing{}; },
    [](dms_atom, const std::string&) { return conversation_list{}; },
    [](disconnect_atom, const std::string&) {},
    [](history_atom, const history_query&) { return message_page{}; },
    [](threads_atom, const threads_query&) { return followed_threads{}; },
    [](typing_atom, const std::string&, const std::string&, const std::string&) {},
    [](subscribe_atom, const std::string&, const hub_actor&) {},
    [](unsubscribe_atom, const std::string&, const hub_actor&) {},
    [](member_atom, const std::string&, const std::string&, bool) {},
    [](entries_atom, const entries_query&) { return entry_batch{}; },
    [](archiver_atom, const archive_actor&, std::uint64_t) {},
    [](archived_atom, const archived_mark&) {},
    [](quota_atom, const std::string&, std::uint64_t, std::uint64_t) { return true; },
    [](pvlookup_atom, const std::string&) { return cached_preview{}; },
    [](pvkeep_atom, const std::string&, const std::optional<link_preview>&) {},
    [](pushsub_atom, const push_subscription&) { return false; },
    [](pushunsub_atom, const std::string&, const std::string&) { return false; },
    [](notify_atom, const notify_setting&) { return false; },
    [](notifylv_atom, const std::string&) { return std::vector<notify_setting>{}; },
    [](pushowe_atom, const push_owed_message&) -> caf::result<std::uint32_t, std::uint32_t> {
      return {0u, 0u};
    },
    [](pushdue_atom, std::uint32_t, std::int64_t) { return std::vector<claimed_push>{}; },
    [](pushaway_atom, const std::string&, const std::string&, const std::string&) { return false; },
    [](pushsubs_atom, const std::string&) { return std::vector<push_subscription>{}; },
    [](pushsettle_atom, const push_settlement&) {},
    [](pushsave_atom) {},
    [](hooker_atom, const webhook_actor&, std::uint64_t, bool) {},
    [](hookclaim_atom, const hook_claim_request&) { return hook_lease{}; },
    [](hookmove_atom, const hook_progress&) { return false; },
    [truth](recent_atom, const recent_query&) {
      room_snapshot snapshot;
      snapshot.members = truth->members;
      snapshot.presence_version = truth->version;
      return snapshot;
    },
    [truth](who_atom, const std::string&) {
      ++truth->who_asked;
      return presence_snapshot{truth->members, truth->version};
    },
  };
}

struct presence_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<bus_truth> truth = std::make_shared<bus_truth>();
  bus_actor bus;
  hub_actor hub;
  const std::string room = "lobby";

  explicit presence_fixture(hub_settings settings = {}) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    bus = sys->spawn(scripted_bus, truth);
    hub = spawn_hub(*sys, bus, std::make_shared<chat_stats>(), settings);
    sched->run();
  }

  ~presence_fixture() {
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void set_truth(std::vector<std::string> members, std::uint64_t version) {
    truth->members = std::move(members);
    truth->version = version;
  }

  /// Joins without running the scheduler: what is sent next lands behind it.
  std::shared_ptr<recording_sink> enter(const std::string& name, const std::string& session) {
    auto sink = std::make_shared<recording_sink>();
    caf::anon_send(hub, enter_atom::value,
                   join_request{room, name, session, sink, std::nullopt, 50, {}, {}, {}, {}});
    return sink;
  }

  void event(std::uint64_t version, const std::string& user, bool present, std::size_t count) {
    caf::anon_send(
      hub, presence_atom::value, room,
      presence_event{version, user, present, make_frame(encode_presence(room, user, present, count)), count});
  }

  void run() { sched->run(); }

  /// The batch timers go off.
  void flush() {
    sched->trigger_timeouts();
    sched->run();
  }

  void ask_members(const std::string& session, std::optional<std::string> after, std::size_t limit) {
    caf::anon_send(hub, members_atom::value, room, members_query{session, std::move(after), limit});
  }
};

/// A room is big above 3 members here.
struct big_room_fixture : presence_fixture {
  big_room_fixture()
    : presence_fixture(hub_settings{3, std::chrono::milliseconds{500}, 10000}) {}
};

/// The presence events a member got, as "+name" / "-name".
std::vector<std::string> changes(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e["type"] == "presence")
      out.push_back((e["event"] == "join" ? "+" : "-") + e["user"].get<std::string>());
  return out;
}

using names = std::vector<std::string>;

/// A small room's member list as a client keeps it: the names of `joined`
/// with each `presence` event applied, and the count of the last of them.
struct held_list {
  std::set<std::string> names;
  std::size_t count = 0;
  /// Frames whose count disagreed with the names held after them.
  std::vector<std::string> disagreeing;

  void follow(const std::vector<json>& events) {
    for (const auto& e : events) {
      if (e["type"] == "joined") {
        names = {e["members"].begin(), e["members"].end()};
      } else if (e["type"] == "presence") {
        if (e["event"] == "join")
          names.insert(e["user"].get<std::string>());
        else
          names.erase(e["user"].get<std::string>());
      } else {
        continue;
      }
      count = e["count"].get<std::size_t>();
      if (count != names.size())
        disagreeing.push_back(e.dump());
    }
  }
};

/// A big room's member list as a client keeps it: `joined`'s first page,
/// `members` pages added, each `presence_diff` applied and cut to its
/// `upto`, and the count of the last of them.
struct held_pages {
  std::set<std::string> names;
  std::string upto; ///< it holds the names up to this one; empty: all
  std::size_t count = 0;

  void follow(const std::vector<json>& events) {
    for (const auto& e : events) {
      if (e["type"] == "joined") {
        names = {e["members"].begin(), e["members"].end()};
        upto = e.value("members_more", false) ? e["members"].back().get<std::string>() : "";
      } else if (e["type"] == "members") {
        names.insert(e["members"].begin(), e["members"].end());
        if (!e["more"].get<bool>())
          upto.clear();
        else if (!upto.empty() && e["members"].back().get<std::string>() > upto)
          upto = e["members"].back().get<std::string>();
      } else if (e["type"] == "presence_diff") {
        for (const auto& name : e["leaves"])
          names.erase(name.get<std::string>());
        for (const auto& name : e["joins"])
          names.insert(name.get<std::string>());
        upto = e.value("upto", "");
        if (!upto.empty())
          names.erase(names.upper_bound(upto), names.end());
      } else if (e["type"] == "presence") {
        if (e["event"] == "join")
          names.insert(e["user"].get<std::string>());
        else
          names.erase(e["user"].get<std::string>());
      } else {
        continue;
      }
      count = e["count"].get<std::size_t>();
    }
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(hub_presence, presence_fixture)

BOOST_AUTO_TEST_CASE(events_that_change_nothing_reach_nobody) {
  set_truth({"alice", "bob"}, 5);
  auto alice = enter("alice", "s1");
  run();
  auto joined = alice->take();
  BOOST_REQUIRE(joined.size() == 1u);
  BOOST_TEST(joined[0]["members"] == json::array({"alice", "bob"}));

  event(6, "bob", true, 2);    // bob came back on another node: still there
  event(7, "carol", false, 2); // never there
  event(8, "alice", true, 2);  // about herself
  event(4, "bob", false, 1);   // older than the view
  event(9, "bob", false, 1);
  run();
  BOOST_TEST(changes(alice->take()) == names({"-bob"}));
  BOOST_TEST(truth->who_asked == 0); // versions without a gap: nothing to ask
}

BOOST_AUTO_TEST_CASE(a_gap_in_versions_is_made_good_from_the_bus) {
  set_truth({"alice", "bob"}, 5);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  // Versions 6 and 7 (bob left, carol came) never arrived; 8 does.
  set_truth({"alice", "carol", "dave"}, 8);
  event(8, "dave", true, 3);
  run();
  BOOST_TEST(changes(alice->take()) == names({"+dave", "+carol", "-bob"}));
  BOOST_TEST(truth->who_asked == 1);

  // Later events apply on the corrected view.
  event(9, "carol", false, 2);
  run();
  BOOST_TEST(changes(alice->take()) == names({"-carol"}));
  BOOST_TEST(truth->who_asked == 1);
}

BOOST_AUTO_TEST_CASE(resync_from_the_bus_sends_only_the_differences) {
  set_truth({"alice", "bob", "carol"}, 3);
  auto alice = enter("alice", "s1");
  auto bob = enter("bob", "s2");
  run();
  alice->take();
  bob->take();
  // The bus lost its link meanwhile; when it is back the room has changed.
  set_truth({"alice", "bob", "erin"}, 7);
  caf::anon_send(hub, resync_atom::value, room);
  run();
  BOOST_TEST(changes(alice->take()) == names({"+erin", "-carol"}));
  BOOST_TEST(changes(bob->take()) == names({"+erin", "-carol"}));
  // Nothing changed: nothing sent.
  caf::anon_send(hub, resync_atom::value, room);
  run();
  BOOST_TEST(alice->take().empty());
  BOOST_TEST(truth->who_asked == 2);
}

BOOST_AUTO_TEST_CASE(a_bus_that_started_over_is_believed) {
  set_truth({"alice", "bob"}, 40);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  // Redis lost its data: versions begin again from 1.
  set_truth({"alice", "frank"}, 1);
  caf::anon_send(hub, resync_atom::value, room);
  run();
  BOOST_TEST(truth->who_asked == 1);
  BOOST_TEST(changes(alice->take()) == names({"+frank", "-bob"}));
  event(2, "gina", true, 3); // the next version after the new start
  run();
  BOOST_TEST(changes(alice->take()) == names({"+gina"}));
}

BOOST_AUTO_TEST_CASE(an_answer_older_than_events_that_came_meanwhile_keeps_them) {
  set_truth({"alice"}, 5);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  // The hub asks, then hears of dave before the answer, which predates him.
  caf::anon_send(hub, resync_atom::value, room);
  event(6, "dave", true, 2);
  run();
  BOOST_TEST(changes(alice->take()) == names({"+dave"}));
  BOOST_TEST(truth->who_asked == 1);
  event(7, "dave", false, 1); // no gap: the view is at 6
  run();
  BOOST_TEST(changes(alice->take()) == names({"-dave"}));
  BOOST_TEST(truth->who_asked == 1);
}

BOOST_AUTO_TEST_CASE(a_resync_while_asking_is_asked_again_after_the_answer) {
  set_truth({"alice"}, 5);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  caf::anon_send(hub, resync_atom::value, room);
  caf::anon_send(hub, resync_atom::value, room);
  run();
  BOOST_TEST(truth->who_asked == 2);
  BOOST_TEST(alice->take().empty());
}

BOOST_AUTO_TEST_CASE(events_before_the_first_snapshot_count_in_joined) {
  set_truth({"alice"}, 5);
  auto alice = enter("alice", "s1");
  event(5, "alice", true, 1); // in the snapshot already
  event(6, "bob", true, 2);   // after it
  run();
  auto got = alice->take();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0]["type"] == "joined");
  BOOST_TEST(got[0]["members"] == json::array({"alice", "bob"}));
  event(7, "bob", false, 1);
  run();
  BOOST_TEST(changes(alice->take()) == names({"-bob"}));
  BOOST_TEST(truth->who_asked == 0);
}

BOOST_AUTO_TEST_CASE(a_member_the_bus_took_for_gone_counts_itself) {
  set_truth({"alice", "bob", "carol"}, 5);
  auto alice = enter("alice", "s1");
  run();
  held_list held;
  held.follow(alice->take());
  // This node was cut off from the bus: alice's entry expired there (6) and
  // carol's node died (7). Back, the hub asks who is there: alice, still
  // connected here, is not, yet she holds her own name.
  set_truth({"bob"}, 7);
  caf::anon_send(hub, resync_atom::value, room);
  run();
  held.follow(alice->take());
  BOOST_TEST(held.names == std::set<std::string>({"alice", "bob"}));
  BOOST_TEST(held.count == 2u);
  // Carol comes back before this node tells the bus of alice again: the
  // bus counts two; alice, who holds herself, three.
  event(8, "carol", true, 2);
  run();
  held.follow(alice->take());
  BOOST_TEST(held.count == 3u);
  // Alice's own join is told to the others only; her count stays right.
  event(9, "alice", true, 3);
  run();
  held.follow(alice->take());
  BOOST_TEST(held.names == std::set<std::string>({"alice", "bob", "carol"}));
  BOOST_TEST(held.count == 3u);
  BOOST_TEST(held.disagreeing == names{});
}

BOOST_AUTO_TEST_CASE(a_member_swept_with_another_counts_itself_until_it_is_back) {
  set_truth({"alice", "bob", "carol"}, 5);
  auto alice = enter("alice", "s1");
  auto bob = enter("bob", "s2");
  run();
  held_list at_alice, at_bob;
  at_alice.follow(alice->take());
  at_bob.follow(bob->take());
  // One heartbeat elsewhere swept carol (her node died) and this node's
  // names (its entry expired): the bus tells each leave with the count after
  // both. Carol comes back, then this node tells the bus of its names again.
  event(6, "carol", false, 0);
  event(7, "alice", false, 0);
  event(8, "bob", false, 0);
  event(9, "carol", true, 1);
  event(10, "alice", true, 2);
  event(11, "bob", true, 3);
  run();
  at_alice.follow(alice->take());
  at_bob.follow(bob->take());
  BOOST_TEST(at_alice.names == std::set<std::string>({"alice", "bob", "carol"}));
  BOOST_TEST(at_alice.count == 3u);
  BOOST_TEST(at_alice.disagreeing == names{});
  BOOST_TEST(at_bob.names == std::set<std::string>({"alice", "bob", "carol"}));
  BOOST_TEST(at_bob.count == 3u);
  BOOST_TEST(at_bob.disagreeing == names{});
  BOOST_TEST(truth->who_asked == 0);
}

BOOST_AUTO_TEST_CASE(an_event_after_a_gap_counts_the_names_told) {
  set_truth({"alice", "bob"}, 5);
  auto alice = enter("alice", "s1");
  run();
  held_list held;
  held.follow(alice->take());
  // Version 6 (bob left) never arrived; 7 (carol came) counts without bob,
  // whom alice still holds until the bus's answer says he is gone.
  set_truth({"alice", "carol"}, 7);
  event(7, "carol", true, 2);
  run();
  held.follow(alice->take());
  BOOST_TEST(held.names == std::set<std::string>({"alice", "carol"}));
  BOOST_TEST(held.count == 2u);
  BOOST_TEST(held.disagreeing == names{});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(big_rooms, big_room_fixture)

BOOST_AUTO_TEST_CASE(joined_lists_a_first_page_and_members_pages_the_rest) {
  set_truth({"alice", "bob", "carol", "dave", "erin"}, 5);
  auto alice = enter("alice", "s1");
  ask_members("s1", std::string{"carol"}, 10); // before its joined: answered after it
  run();
  auto got = alice->take();
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0]["type"] == "joined");
  BOOST_TEST(got[0]["members"] == json::array({"alice", "bob", "carol"}));
  BOOST_TEST(got[0]["count"] == 5);
  BOOST_TEST(got[0]["members_more"] == true);
  BOOST_TEST(got[1]["type"] == "members");
  BOOST_TEST(got[1]["members"] == json::array({"dave", "erin"}));
  BOOST_TEST(got[1]["more"] == false);
  BOOST_TEST(got[1]["count"] == 5);
}

BOOST_AUTO_TEST_CASE(changes_go_out_together_once_per_interval) {
  set_truth({"alice", "bob", "carol", "dave"}, 4);
  auto alice = enter("alice", "s1");
  run();
  alice->take(); // lists alice, bob, carol of 4
  event(5, "erin", true, 5);
  event(6, "bob", false, 4);
  event(7, "aaron", true, 5);
  event(8, "erin", false, 4); // came and went within the interval
  event(9, "zed", true, 5);
  run();
  BOOST_TEST(alice->take().empty()); // nothing before the interval ends
  flush();
  auto got = alice->take();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0]["type"] == "presence_diff");
  BOOST_TEST(got[0]["joins"] == json::array({"aaron"})); // zed is past the first page alice holds
  BOOST_TEST(got[0]["leaves"] == json::array({"bob"}));
  BOOST_TEST(got[0]["upto"] == "carol");
  BOOST_TEST(got[0]["count"] == 5);

  // Once alice has listed every name, she hears of every change.
  ask_members("s1", std::string{"carol"}, 10);
  run();
  auto page = alice->take();
  BOOST_REQUIRE(page.size() == 1u);
  BOOST_TEST(page[0]["members"] == json::array({"dave", "zed"}));
  event(10, "zoe", true, 6);
  run();
  flush();
  got = alice->take();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0]["joins"] == json::array({"zoe"}));
  BOOST_TEST(got[0]["count"] == 6);
  flush(); // nothing waiting: nothing sent
  BOOST_TEST(alice->take().empty());
}

BOOST_AUTO_TEST_CASE(a_room_of_many_members_is_batched_less_often) {
  using std::chrono::milliseconds;
  hub_settings settings{100, milliseconds{500}, 10000};
  BOOST_TEST(batch_interval_for(settings, 150).count() == 500);
  BOOST_TEST(batch_interval_for(settings, 9999).count() == 500);
  BOOST_TEST(batch_interval_for(settings, 10000).count() == 1000);
  BOOST_TEST(batch_interval_for(settings, 100000).count() == 5500); // 20,000 writes a second at most
  settings.batch_members = 0;
  BOOST_TEST(batch_interval_for(settings, 100000).count() == 500);
}

BOOST_AUTO_TEST_CASE(a_member_joining_while_a_batch_waits_ends_with_the_same_room) {
  set_truth({"alice", "bob", "carol", "dave", "erin"}, 5);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  event(6, "bob", false, 4);
  event(7, "bob", true, 5); // left and came back: nothing to tell
  event(8, "carl", true, 6);
  run();
  auto aaron = enter("aaron", "s2"); // is given what the others were told
  run();
  auto joined = aaron->take();
  BOOST_REQUIRE(joined.size() == 1u);
  BOOST_TEST(joined[0]["members"] == json::array({"aaron", "alice", "bob", "carol"}));
  BOOST_TEST(joined[0]["count"] == 6); // the five, and aaron; carl comes with the batch
  event(9, "aaron", true, 7);
  run();
  flush();
  // Both hold the first page: aaron comes into it, carol moves out of it,
  // and carl is past it.
  for (auto* member : {aaron.get(), alice.get()}) {
    auto got = member->take();
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(got[0]["joins"] == json::array({"aaron"}));
    BOOST_TEST(got[0]["leaves"] == json::array({"carol"}));
    BOOST_TEST(got[0]["upto"] == "bob");
    BOOST_TEST(got[0]["count"] == 7);
  }
}

BOOST_AUTO_TEST_CASE(a_member_the_bus_took_for_gone_keeps_its_own_name_through_batches) {
  set_truth({"alice", "bob", "carol", "dave"}, 4);
  auto alice = enter("alice", "s1");
  auto bob = enter("bob", "s2");
  run();
  held_pages at_alice, at_bob;
  at_alice.follow(alice->take());
  at_bob.follow(bob->take());
  // This node was cut off from the bus, which swept its names: the room is
  // small again after the batch, and nobody here is told they left.
  event(5, "alice", false, 3);
  event(6, "bob", false, 2);
  run();
  flush();
  at_alice.follow(alice->take());
  at_bob.follow(bob->take());
  BOOST_TEST(at_alice.names == std::set<std::string>({"alice", "carol", "dave"}));
  BOOST_TEST(at_alice.count == 3u);
  BOOST_TEST(at_bob.names == std::set<std::string>({"bob", "carol", "dave"}));
  BOOST_TEST(at_bob.count == 3u);
  // Back, the node tells the bus of its names again: alice's while the room
  // is small (told at once, to the others), bob's when it is big again
  // (with the batch).
  event(7, "alice", true, 3);
  event(8, "bob", true, 4);
  run();
  flush();
  at_alice.follow(alice->take());
  at_bob.follow(bob->take());
  for (auto* held : {&at_alice, &at_bob}) {
    BOOST_TEST(held->names == std::set<std::string>({"alice", "bob", "carol"}));
    BOOST_TEST(held->upto == "carol");
    BOOST_TEST(held->count == 4u);
  }
  // Pages asked for meanwhile list a member's own name where it falls.
  event(9, "alice", false, 3);
  event(10, "zed", true, 4);
  run();
  flush();
  at_alice.follow(alice->take()); // dave came into the first page
  BOOST_TEST(at_alice.names == std::set<std::string>({"alice", "bob", "carol", "dave"}));
  BOOST_TEST(at_alice.count == 5u);
  ask_members("s1", std::nullopt, 2);
  run();
  auto page = alice->take();
  BOOST_REQUIRE(page.size() == 1u);
  BOOST_TEST(page[0]["members"] == json::array({"alice", "bob", "carol"}));
  BOOST_TEST(page[0]["count"] == 5);
}

BOOST_AUTO_TEST_CASE(a_small_room_is_told_each_change_at_once) {
  set_truth({"alice", "bob"}, 2);
  auto alice = enter("alice", "s1");
  run();
  alice->take();
  event(3, "carol", true, 3);
  run();
  BOOST_TEST(changes(alice->take()) == names({"+carol"}));
  event(4, "dave", true, 4); // now above 3: the next change waits for the batch
  event(5, "erin", true, 5);
  run();
  BOOST_TEST(changes(alice->take()) == names({}));
  flush();
  // Alice was given every name while the room was small: now she holds the
  // first page, and is told so.
  auto got = alice->take();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0]["joins"] == json::array());
  BOOST_TEST(got[0]["upto"] == "carol");
  BOOST_TEST(got[0]["count"] == 5);
  event(6, "bea", true, 6);
  event(7, "zed", true, 7);
  run();
  flush();
  got = alice->take();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0]["joins"] == json::array({"bea"})); // into the first page, which carol leaves
  BOOST_TEST(got[0]["leaves"] == json::array({"carol"}));
  BOOST_TEST(got[0]["upto"] == "bob");
}

BOOST_AUTO_TEST_SUITE_END()

// Delivery guarantees under load, the rate limit and the slow-reader cut-off.
#define BOOST_TEST_MODULE chatnode integration : load
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace chatnode::testing;

namespace {

// What one client thread saw; checked by the main thread (Boost.Test is not thread-safe).
struct client_view {
  std::vector<std::string> ids;  // ids of the messages of its room, in arrival order
  std::vector<std::string> cids; // their cids, same order
  std::size_t foreign = 0;       // messages of another room
  std::size_t errors = 0;        // error events
  std::string first_error;
  std::string failure; // why the thread stopped early, if it did
};

} // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(delivery)

BOOST_AUTO_TEST_CASE(every_member_gets_every_message_once_in_id_order) {
  node_options o;
  o.env = {{"CHATNODE_LIMITS_RATE_PER_SECOND", "100000"},
           {"CHATNODE_LIMITS_RATE_BURST", "100000"},
           {"CHATNODE_LOG_LEVEL", "warn"}};
  node_fixture f(o);

  constexpr int kClientsPerRoom = 10, kSendersPerRoom = 5, kPerSender = 200;
  constexpr std::size_t kPerRoom = kSendersPerRoom * kPerSender;
  const std::string rooms[2] = {unique_name("load-a"), unique_name("load-b")};
  constexpr int kClients = 2 * kClientsPerRoom;

  std::vector<client_view> seen(kClients);
  std::latch joined(kClients);
  std::vector<std::thread> threads;
  const time_point deadline = after(90s);

  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      client_view& s = seen[static_cast<std::size_t>(i)];
      const std::string& room = rooms[i % 2];
      const int index_in_room = i / 2;
      const bool sender = index_in_room < kSendersPerRoom;
      const std::string name = "u" + std::to_string(i);
      ws_client c;
      bool ok = c.connect(f.node.host(), f.node.port()) == 101;
      if (ok) {
        ok = c.send_json({{"type", "join"}, {"room", room}, {"name", name}}) &&
             c.wait_for(is_type_in_room("joined", room), after(10s)).has_value();
      }
      joined.count_down();
      if (!ok) {
        s.failure = "connect/join failed: " + c.last_error();
        return;
      }
      joined.wait();

      auto record = [&](const json& e) {
        const std::string type = str(e, "type");
        if (type == "message") {
          if (str(e, "room") != room) {
            ++s.foreign;
          } else {
            s.ids.push_back(str(e, "id"));
            s.cids.push_back(str(e, "cid"));
          }
        } else if (type == "error") {
          if (s.errors++ == 0)
            s.first_error = e.dump();
        }
      };
      if (sender) {
        for (int k = 0; k < kPerSender; ++k) {
          const std::string cid = name + "-" + std::to_string(k);
          if (!c.send_json({{"type", "send"}, {"room", room}, {"text", "t " + cid}, {"cid", cid}})) {
            s.failure = "send failed: " + c.last_error();
            return;
          }
          c.poll();
          for (auto& e : c.take_all())
            record(e);
        }
      }
      while (s.ids.size() < kPerRoom) {
        auto e = c.next_event(deadline);
        if (!e) {
          s.failure = c.is_open() ? "timed out"
                                  : "connection closed, code " + std::to_string(c.close_code().value_or(0));
          return;
        }
        record(*e);
      }
      // Anything extra that is already on its way (duplicates) shows up here.
      auto extra_until = after(300ms);
      while (auto e = c.next_event(extra_until))
        record(*e);
      c.close();
    });
  }
  for (auto& t : threads)
    t.join();

  for (int r = 0; r < 2; ++r) {
    std::set<std::string> expected_cids;
    for (int i = r; i < kClients; i += 2)
      if (i / 2 < kSendersPerRoom)
        for (int k = 0; k < kPerSender; ++k)
          expected_cids.insert("u" + std::to_string(i) + "-" + std::to_string(k));
    const std::vector<std::string>* reference = nullptr;
    for (int i = r; i < kClients; i += 2) {
      const client_view& s = seen[static_cast<std::size_t>(i)];
      BOOST_TEST_CONTEXT("client u" << i << " in " << rooms[r]) {
        BOOST_TEST(s.failure.empty(), s.failure << " after " << s.ids.size() << " messages");
        BOOST_TEST(s.errors == 0u, s.first_error);
        BOOST_TEST(s.foreign == 0u, "messages of the other room");
        BOOST_TEST(s.ids.size() == kPerRoom);
        std::set<std::string> unique_ids(s.ids.begin(), s.ids.end());
        BOOST_TEST(unique_ids.size() == s.ids.size(), "duplicate deliveries");
        std::set<std::string> got_cids(s.cids.begin(), s.cids.end());
        BOOST_TEST((got_cids == expected_cids), "missing or foreign cids");
        bool ordered = true;
        for (std::size_t k = 1; k < s.ids.size() && ordered; ++k)
          if (!id_less(s.ids[k - 1], s.ids[k])) {
            ordered = false;
            BOOST_TEST(ordered, "ids out of order at " << k << ": " << s.ids[k - 1] << " then " << s.ids[k]);
          }
        if (!reference)
          reference = &s.ids;
        else
          BOOST_TEST((s.ids == *reference), "a different sequence than the room's first client");
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(limits)

BOOST_FIXTURE_TEST_CASE(rate_limit_drops_with_an_error_and_keeps_the_connection, node_fixture) {
  const std::string room = unique_name("rate");
  ws_client a = open_client(node);
  join(a, room, "alice");
  ws_client b = open_client(node);
  join(b, room, "bob");

  const std::string before = metrics_text(node);
  constexpr int kSends = 100;
  for (int i = 0; i < kSends; ++i)
    BOOST_REQUIRE(a.send_json({{"type", "send"},
                               {"room", room},
                               {"text", "r" + std::to_string(i)},
                               {"cid", "r" + std::to_string(i)}}));
  std::set<std::string> accepted, limited;
  std::size_t other_errors = 0;
  std::string other_error;
  while (accepted.size() + limited.size() + other_errors < kSends) {
    auto e = a.next_event(after(10s));
    BOOST_REQUIRE_MESSAGE(
      e.has_value(), "only " << accepted.size() << " accepted and " << limited.size() << " limited replies");
    if (is_type_in_room("message", room)(*e)) {
      accepted.insert(str(*e, "cid"));
    } else if (is_error("rate_limited")(*e)) {
      BOOST_TEST(!str(*e, "cid").empty(), "rate_limited error without the cid: " << e->dump());
      limited.insert(str(*e, "cid"));
    } else if (is_type("error")(*e)) {
      ++other_errors;
      other_error = e->dump();
    }
  }
  BOOST_TEST(other_errors == 0u, other_error);
  BOOST_TEST(accepted.size() + limited.size() == static_cast<std::size_t>(kSends));
  BOOST_TEST(limited.size() > 0u, "no rate_limited error for 100 sends at once");
  // Burst 40; the join before the sends may have taken one token.
  BOOST_TEST(accepted.size() >= 39u, "the burst was not accepted: " << accepted.size() << " accepted, "
                                                                    << limited.size() << " limited");
  BOOST_TEST_MESSAGE("rate limit: " << accepted.size() << " accepted, " << limited.size() << " limited");
  for (const auto& cid : limited)
    BOOST_TEST(accepted.count(cid) == 0u, cid << " both accepted and limited");
  BOOST_TEST(a.is_open());

  // The connection stays usable: once tokens refill, a send goes through.
  json ok_ack;
  bool through = eventually(
    [&] {
      BOOST_REQUIRE(a.send_json({{"type", "send"}, {"room", room}, {"text", "later"}, {"cid", "later"}}));
      auto e = a.wait_for(
        [](const json& e) { return is_message_with_cid("later")(e) || is_type("error")(e); }, after(5s));
      BOOST_REQUIRE(e.has_value());
      if (is_message_with_cid("later")(*e)) {
        ok_ack = *e;
        return true;
      }
      BOOST_REQUIRE_MESSAGE(is_error("rate_limited")(*e), e->dump());
      std::this_thread::sleep_for(100ms);
      return false;
    },
    after(5s));
  BOOST_REQUIRE_MESSAGE(through, "no send accepted within 5 s after the burst");

  // Bob received exactly the accepted ones (and then "later").
  std::set<std::string> bob;
  for (;;) {
    auto e = b.next_event(after(5s));
    BOOST_REQUIRE_MESSAGE(e.has_value(),
                          "bob got " << bob.size() << " messages, not " << accepted.size() + 1);
    if (!is_type_in_room("message", room)(*e))
      continue;
    BOOST_TEST(bob.insert(str(*e, "cid")).second, "bob got " << str(*e, "cid") << " twice");
    if (str(*e, "cid") == "later")
      break;
  }
  bob.erase("later");
  BOOST_TEST((bob == accepted));

  std::string after_text;
  const double base = metric_or_zero(before, "chatnode_errors_total{code=\"rate_limited\"}");
  bool counted = eventually(
    [&] {
      after_text = metrics_text(node);
      return metric_or_zero(after_text, "chatnode_errors_total{code=\"rate_limited\"}") >=
             base + static_cast<double>(limited.size());
    },
    after(5s));
  BOOST_TEST(counted, "rate_limited errors not counted:\n" << after_text);
}

BOOST_AUTO_TEST_CASE(slow_reader_is_closed_1013_and_others_keep_receiving) {
  node_options o;
  o.env = {{"CHATNODE_LIMITS_RATE_PER_SECOND", "100000"},
           {"CHATNODE_LIMITS_RATE_BURST", "100000"},
           {"CHATNODE_LIMITS_OUTBOUND_QUEUE", "64"},
           {"CHATNODE_HISTORY_RETENTION", "100000"},
           {"CHATNODE_LOG_LEVEL", "warn"}};
  node_fixture f(o);
  const std::string room = unique_name("slow");

  // The slow reader: a tiny receive buffer, joins, then reads nothing for a while.
  ws_client slow;
  connect_options tiny;
  tiny.receive_buffer = 4096;
  BOOST_REQUIRE_EQUAL(slow.connect(f.node.host(), f.node.port(), tiny), 101);
  BOOST_REQUIRE(slow.send_json({{"type", "join"}, {"room", room}, {"name", "slowpoke"}}));
  BOOST_REQUIRE(slow.wait_for(is_type_in_room("joined", room), after(5s)));

  // An observer that reads everything on its own thread.
  std::atomic<bool> stop_observer{false};
  std::atomic<std::size_t> observer_count{0};
  std::atomic<bool> observer_failed{false};
  client_view observer_seen; // read by the main thread once observer_failed or after join()
  std::latch observer_joined(1);
  std::thread observer([&] {
    ws_client c;
    bool ok = c.connect(f.node.host(), f.node.port()) == 101 &&
              c.send_json({{"type", "join"}, {"room", room}, {"name", "watcher"}}) &&
              c.wait_for(is_type_in_room("joined", room), after(5s)).has_value();
    observer_joined.count_down();
    if (!ok) {
      observer_seen.failure = "observer could not join: " + c.last_error();
      observer_failed = true;
      return;
    }
    while (!stop_observer.load()) {
      auto e = c.next_event(after(100ms));
      if (!e) {
        if (!c.is_open()) {
          observer_seen.failure = "observer closed with " + std::to_string(c.close_code().value_or(0));
          observer_failed = true;
          return;
        }
        continue;
      }
      if (is_type_in_room("message", room)(*e)) {
        observer_seen.ids.push_back(str(*e, "id"));
        observer_seen.cids.push_back(str(*e, "cid"));
        observer_count = observer_seen.ids.size();
      } else if (is_type("error")(*e)) {
        ++observer_seen.errors;
      }
    }
  });
  struct stop_and_join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~stop_and_join() {
      stop = true;
      if (thread.joinable())
        thread.join();
    }
  } observer_guard{stop_observer, observer};
  observer_joined.wait();

  ws_client sender = open_client(f.node);
  join(sender, room, "sender");
  const std::string big(4000, 'z');
  int sent = 0;
  bool cut_off = false;
  std::size_t sender_got = 0;
  std::string last_metrics;
  // The sender is a well-behaved client: it sends batches well under the outbound queue
  // bound and reads its own echoes before the next batch, so only the slow reader falls
  // behind. (A batch larger than the bound could cut off even a fast reader: the node
  // counts every event queued behind the write in progress.)
  constexpr int kBatch = 8;
  while (!cut_off && sent < 4000) {
    for (int k = 0; k < kBatch; ++k, ++sent)
      BOOST_REQUIRE_MESSAGE(
        sender.send_json(
          {{"type", "send"}, {"room", room}, {"text", big}, {"cid", "s" + std::to_string(sent)}}),
        sender.last_error());
    while (sender_got < static_cast<std::size_t>(sent)) {
      auto e = sender.next_event(after(10s));
      BOOST_REQUIRE_MESSAGE(e.has_value(), "sender got " << sender_got << " of " << sent << " echoes; open "
                                                         << sender.is_open() << " close code "
                                                         << sender.close_code().value_or(0));
      if (is_type_in_room("message", room)(*e))
        ++sender_got;
      else
        BOOST_REQUIRE_MESSAGE(!is_type("error")(*e), "sender got " << e->dump());
    }
    last_metrics = metrics_text(f.node);
    cut_off = metric_or_zero(last_metrics, "chatnode_slow_consumer_closes_total") >= 1;
  }
  BOOST_REQUIRE_MESSAGE(cut_off, "no slow-consumer close after " << sent << " messages of 4000 chars:\n"
                                                                 << last_metrics);
  BOOST_TEST_MESSAGE("slow consumer closed after " << sent << " messages");

  // The slow reader now reads: what was buffered, then the close frame with 1013.
  auto code = slow.expect_close(after(10s), /*keep_events=*/true);
  BOOST_REQUIRE_MESSAGE(code.has_value(), "slow reader still open 10 s after the cut-off");
  BOOST_TEST(*code == 1013, "close code " << *code << " reason '" << slow.close_reason() << "'");
  std::vector<std::string> slow_ids;
  for (const auto& e : slow.take_all())
    if (is_type_in_room("message", room)(e))
      slow_ids.push_back(str(e, "id"));

  // The observer got every message (the sender got its echoes above).
  bool observer_done = eventually(
    [&] { return observer_count.load() >= static_cast<std::size_t>(sent) || observer_failed.load(); },
    after(20s));
  stop_observer = true;
  observer.join();
  BOOST_TEST(observer_done);
  BOOST_TEST(observer_seen.failure.empty(), observer_seen.failure);
  BOOST_TEST(observer_seen.errors == 0u);
  BOOST_TEST(observer_seen.ids.size() == static_cast<std::size_t>(sent));
  BOOST_TEST(sender.is_open());

  // On reconnect, `since` recovers exactly what the slow reader missed.
  ws_client again = open_client(f.node);
  std::optional<std::string> since;
  if (!slow_ids.empty())
    since = slow_ids.back();
  json j = join(again, room, "slowpoke", since);
  std::vector<std::string> recovered;
  for (const auto& m : j["history"])
    recovered.push_back(str(m, "id"));
  std::vector<std::string> expected;
  if (since) {
    auto it = std::find(observer_seen.ids.begin(), observer_seen.ids.end(), *since);
    BOOST_REQUIRE_MESSAGE(it != observer_seen.ids.end(), "slow reader got an id nobody else saw");
    // What the slow reader had is a prefix of the room's sequence.
    BOOST_TEST((std::vector<std::string>(observer_seen.ids.begin(), it + 1) == slow_ids));
    expected.assign(it + 1, observer_seen.ids.end());
  } else {
    expected = observer_seen.ids; // without since the node sends a page only
    expected.erase(expected.begin(), expected.end() - std::min<std::ptrdiff_t>(
                                                        50, static_cast<std::ptrdiff_t>(expected.size())));
  }
  BOOST_TEST(recovered.size() == expected.size());
  BOOST_TEST((recovered == expected), "join with since did not return exactly the missed messages");
}

BOOST_AUTO_TEST_SUITE_END()

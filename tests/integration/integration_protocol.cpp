// The wire protocol of PROTOCOL.md against a real chatnode: events, errors, limits, Origin.
#define BOOST_TEST_MODULE chatnode integration : protocol
#include "common.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

using namespace chatnode::testing;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Sends a `history` request for a room the client has joined and returns every event that
// arrived before its reply (a barrier: whatever the node sent this client before it
// answered is in the result).
std::vector<json> events_before_barrier(ws_client& c, const std::string& room) {
  BOOST_REQUIRE(c.send_json({{"type", "history"}, {"room", room}, {"limit", 1}}));
  std::vector<json> seen;
  for (;;) {
    auto e = c.next_event(after(5s));
    BOOST_REQUIRE_MESSAGE(e.has_value(), "no history reply (barrier) within 5 s");
    if (is_type_in_room("history", room)(*e))
      return seen;
    seen.push_back(std::move(*e));
  }
}

std::size_t count_if(const std::vector<json>& events, const event_predicate& pred) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), pred));
}

std::vector<std::string> names_of(const json& members) {
  std::vector<std::string> out;
  if (members.is_array())
    for (const auto& m : members)
      out.push_back(m.is_string() ? m.get<std::string>() : m.dump());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ids_of(const json& messages) {
  std::vector<std::string> out;
  if (messages.is_array())
    for (const auto& m : messages)
      out.push_back(str(m, "id"));
  return out;
}

void check_message_shape(const json& m, const std::string& room, const std::string& user,
                         const std::string& text) {
  BOOST_TEST(str(m, "type") == "message");
  BOOST_TEST(str(m, "room") == room);
  BOOST_TEST(str(m, "user") == user);
  BOOST_TEST(str(m, "text") == text);
  BOOST_TEST(parse_id(str(m, "id")).has_value(), "id " << m.value("id", json()).dump());
  BOOST_REQUIRE_MESSAGE(m.contains("ts") && m["ts"].is_number_integer(), "ts: " << m.dump());
  BOOST_TEST(std::llabs(m["ts"].get<std::int64_t>() - now_ms()) < 60000,
             "ts " << m["ts"] << " is not near now " << now_ms());
}

// Expects an `error` with this code as the reply to `request` (the next error event).
json expect_error(ws_client& c, const json& request, const std::string& code) {
  BOOST_REQUIRE_MESSAGE(c.send_json(request), c.last_error());
  auto e = c.wait_for(is_type("error"), after(5s));
  BOOST_REQUIRE_MESSAGE(e.has_value(), "no error reply to " << request.dump());
  BOOST_TEST(str(*e, "code") == code, "request " << request.dump() << " got " << e->dump());
  BOOST_TEST(!str(*e, "reason").empty(), "error without reason: " << e->dump());
  if (request.contains("cid") && request["cid"].is_string() && request["cid"].get<std::string>().size() <= 64)
    BOOST_TEST(str(*e, "cid") == request["cid"].get<std::string>(),
               "error does not carry the request's cid: " << e->dump());
  return *e;
}

json expect_error_text(ws_client& c, const std::string& frame, const std::string& code) {
  BOOST_REQUIRE_MESSAGE(c.send_text(frame), c.last_error());
  auto e = c.wait_for(is_type("error"), after(5s));
  BOOST_REQUIRE_MESSAGE(e.has_value(), "no error reply to " << frame);
  BOOST_TEST(str(*e, "code") == code, "frame " << frame << " got " << e->dump());
  return *e;
}

node_options fast_rate() {
  node_options o;
  o.env = {{"CHATNODE_LIMITS_RATE_PER_SECOND", "100000"}, {"CHATNODE_LIMITS_RATE_BURST", "100000"}};
  return o;
}

struct fast_node : node_fixture {
  fast_node()
    : node_fixture(fast_rate()) {}
};

} // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(events)

BOOST_FIXTURE_TEST_CASE(welcome_comes_first, node_fixture) {
  ws_client a, b;
  BOOST_REQUIRE_EQUAL(a.connect(node.host(), node.port()), 101);
  BOOST_REQUIRE_EQUAL(b.connect(node.host(), node.port()), 101);
  auto wa = a.next_event(after(5s));
  auto wb = b.next_event(after(5s));
  BOOST_REQUIRE(wa && wb);
  BOOST_TEST(str(*wa, "type") == "welcome", wa->dump());
  BOOST_TEST(wa->value("protocol", json()) == json(1), wa->dump());
  BOOST_TEST(wa->contains("node"));
  BOOST_TEST(!str(*wa, "session").empty(), wa->dump());
  BOOST_TEST(str(*wa, "session") != str(*wb, "session"), "two sessions share an id");
  BOOST_TEST(str(*wa, "node") == str(*wb, "node"));
}

BOOST_FIXTURE_TEST_CASE(join_replies_joined_with_members_and_history, node_fixture) {
  const std::string room = unique_name("join");
  ws_client a = open_client(node);
  json joined = join(a, room, "alice");
  BOOST_TEST(names_of(joined["members"]) == std::vector<std::string>{"alice"}, joined.dump());
  BOOST_TEST(joined["history"].is_array());
  BOOST_TEST(joined["history"].empty());
  BOOST_TEST(joined.value("more", json()) == json(false), joined.dump());

  send_and_ack(a, room, "first", "c-1");
  ws_client b = open_client(node);
  json joined_b = join(b, room, "bob");
  BOOST_TEST((names_of(joined_b["members"]) == std::vector<std::string>{"alice", "bob"}), joined_b.dump());
  BOOST_REQUIRE_EQUAL(joined_b["history"].size(), 1u);
  BOOST_TEST(str(joined_b["history"][0], "text") == "first");
  BOOST_TEST(joined_b.value("more", json()) == json(false));
}

BOOST_FIXTURE_TEST_CASE(presence_join_and_leave_go_to_the_others, node_fixture) {
  const std::string room = unique_name("presence");
  ws_client a = open_client(node);
  join(a, room, "alice");
  ws_client b = open_client(node);
  join(b, room, "bob");

  auto p = a.wait_for(is_type_in_room("presence", room), after(5s));
  BOOST_REQUIRE_MESSAGE(p.has_value(), "alice got no presence join for bob");
  BOOST_TEST(str(*p, "user") == "bob");
  BOOST_TEST(str(*p, "event") == "join");
  BOOST_TEST(p->value("count", json()) == json(2), p->dump());

  // The joiner gets `joined`, not a presence event about itself.
  auto b_seen = events_before_barrier(b, room);
  BOOST_TEST(count_if(b_seen, is_type("presence")) == 0u);

  // A second tab with the same name is not a new member.
  ws_client a2 = open_client(node);
  json joined2 = join(a2, room, "alice");
  BOOST_TEST((names_of(joined2["members"]) == std::vector<std::string>{"alice", "bob"}), joined2.dump());
  b_seen = events_before_barrier(b, room);
  BOOST_TEST(count_if(b_seen, is_type("presence")) == 0u, "presence for a second tab");
  BOOST_REQUIRE(a2.send_json({{"type", "leave"}, {"room", room}}));
  (void)events_before_barrier(a, room); // let the leave be processed
  b_seen = events_before_barrier(b, room);
  BOOST_TEST(count_if(b_seen, is_type("presence")) == 0u, "presence leave while another tab of alice stays");

  BOOST_REQUIRE(a.send_json({{"type", "leave"}, {"room", room}}));
  auto left = b.wait_for(is_type_in_room("presence", room), after(5s));
  BOOST_REQUIRE_MESSAGE(left.has_value(), "bob got no presence leave");
  BOOST_TEST(str(*left, "user") == "alice");
  BOOST_TEST(str(*left, "event") == "leave");
  BOOST_TEST(left->value("count", json()) == json(1), left->dump());

  // After leaving, alice no longer receives the room's messages.
  send_and_ack(b, room, "after alice left", "b-1");
  BOOST_REQUIRE(a.send_json({{"type", "send"}, {"room", room}, {"text", "x"}, {"cid", "z"}}));
  auto err = a.wait_for(is_type("error"), after(5s));
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(str(*err, "code") == "not_joined");
  BOOST_TEST(count_if(a.take_all(), is_type("message")) == 0u);
}

BOOST_FIXTURE_TEST_CASE(disconnect_is_a_presence_leave, node_fixture) {
  const std::string room = unique_name("disconnect");
  ws_client a = open_client(node);
  join(a, room, "alice");
  {
    ws_client b = open_client(node);
    join(b, room, "bob");
    BOOST_REQUIRE(a.wait_for(is_type_in_room("presence", room), after(5s)));
    b.abort();
  }
  auto left = a.wait_for(is_type_in_room("presence", room), after(5s));
  BOOST_REQUIRE_MESSAGE(left.has_value(), "no presence leave after bob's TCP connection dropped");
  BOOST_TEST(str(*left, "user") == "bob");
  BOOST_TEST(str(*left, "event") == "leave");
  BOOST_TEST(left->value("count", json()) == json(1));
}

BOOST_FIXTURE_TEST_CASE(send_is_echoed_and_delivered, node_fixture) {
  const std::string room = unique_name("send");
  ws_client a = open_client(node);
  join(a, room, "alice");
  ws_client b = open_client(node);
  join(b, room, "bob");

  const std::string text = "<b>h\u00e9llo</b> & \"quotes\" \\ \U0001F600 <script>x</script>";
  json ack = send_and_ack(a, room, text, "cid-42");
  check_message_shape(ack, room, "alice", text);
  BOOST_TEST(str(ack, "cid") == "cid-42");

  auto got = b.wait_for(is_type_in_room("message", room), after(5s));
  BOOST_REQUIRE_MESSAGE(got.has_value(), "bob did not receive alice's message");
  BOOST_TEST(str(*got, "id") == str(ack, "id"));
  BOOST_TEST(got->value("ts", json()) == ack.value("ts", json()));
  BOOST_TEST(str(*got, "text") == text);
  BOOST_TEST(str(*got, "user") == "alice");
  BOOST_TEST(str(*got, "cid") == "cid-42");

  // Without cid: still echoed, ids increase.
  BOOST_REQUIRE(a.send_json({{"type", "send"}, {"room", room}, {"text", "no cid"}}));
  auto plain = a.wait_for(is_type_in_room("message", room), after(5s));
  BOOST_REQUIRE(plain.has_value());
  BOOST_TEST(str(*plain, "text") == "no cid");
  BOOST_TEST((!plain->contains("cid") || str(*plain, "cid").empty()));
  BOOST_TEST(id_less(str(ack, "id"), str(*plain, "id")), str(ack, "id") << " vs " << str(*plain, "id"));
}

BOOST_FIXTURE_TEST_CASE(text_limits_count_characters, node_fixture) {
  const std::string room = unique_name("chars");
  ws_client a = open_client(node);
  join(a, room, "alice");
  // 4000 characters of two UTF-8 bytes each: at the limit, accepted unaltered.
  std::string at_limit;
  for (int i = 0; i < 4000; ++i)
    at_limit += "\u00e9";
  json ack = send_and_ack(a, room, at_limit, "max");
  BOOST_TEST(str(ack, "text") == at_limit);
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", at_limit + "\u00e9"}, {"cid", "over1"}},
               "too_large");
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", std::string(4001, 'x')}, {"cid", "over2"}},
               "too_large");
  send_and_ack(a, room, std::string(4000, 'y'), "max-ascii");
}

BOOST_FIXTURE_TEST_CASE(typing_goes_to_the_others_only, node_fixture) {
  const std::string room = unique_name("typing");
  ws_client a = open_client(node);
  join(a, room, "alice");
  ws_client b = open_client(node);
  join(b, room, "bob");
  BOOST_REQUIRE(a.send_json({{"type", "typing"}, {"room", room}}));
  auto t = b.wait_for(is_type_in_room("typing", room), after(5s));
  BOOST_REQUIRE_MESSAGE(t.has_value(), "bob got no typing notice");
  BOOST_TEST(str(*t, "user") == "alice");
  auto a_seen = events_before_barrier(a, room);
  BOOST_TEST(count_if(a_seen, is_type("typing")) == 0u, "typing echoed to its sender");
  // Never stored.
  BOOST_REQUIRE(b.send_json({{"type", "history"}, {"room", room}}));
  auto h = b.wait_for(is_type_in_room("history", room), after(5s));
  BOOST_REQUIRE(h.has_value());
  BOOST_TEST((*h)["messages"].empty(), h->dump());
}

BOOST_FIXTURE_TEST_CASE(history_pages_back_and_join_since_catches_up, fast_node) {
  const std::string room = unique_name("paging");
  ws_client a = open_client(node);
  join(a, room, "alice");
  const int total = 120;
  for (int i = 0; i < total; ++i)
    BOOST_REQUIRE(a.send_json({{"type", "send"},
                               {"room", room},
                               {"text", "m" + std::to_string(i)},
                               {"cid", "p" + std::to_string(i)}}));
  std::vector<std::string> ids;
  for (int i = 0; i < total; ++i) {
    auto m = a.wait_for(is_type_in_room("message", room), after(10s));
    BOOST_REQUIRE_MESSAGE(m.has_value(), "only " << i << " echoes");
    BOOST_REQUIRE_EQUAL(str(*m, "text"), "m" + std::to_string(i));
    ids.push_back(str(*m, "id"));
  }
  for (std::size_t i = 1; i < ids.size(); ++i)
    BOOST_REQUIRE_MESSAGE(id_less(ids[i - 1], ids[i]), ids[i - 1] << " !< " << ids[i]);
  auto slice = [&](std::size_t from, std::size_t to) {
    return std::vector<std::string>(ids.begin() + static_cast<std::ptrdiff_t>(from),
                                    ids.begin() + static_cast<std::ptrdiff_t>(to));
  };
  auto history = [&](json req) {
    req["type"] = "history";
    req["room"] = room;
    BOOST_REQUIRE(a.send_json(req));
    auto h = a.wait_for(is_type_in_room("history", room), after(5s));
    BOOST_REQUIRE_MESSAGE(h.has_value(), "no history reply to " << req.dump());
    return *h;
  };

  json p1 = history({{"limit", 50}});
  BOOST_TEST(ids_of(p1["messages"]) == slice(70, 120), p1.dump().substr(0, 300));
  BOOST_TEST(p1.value("more", json()) == json(true));
  json p2 = history({{"limit", 50}, {"before", ids[70]}});
  BOOST_TEST(ids_of(p2["messages"]) == slice(20, 70));
  BOOST_TEST(p2.value("more", json()) == json(true));
  json p3 = history({{"limit", 50}, {"before", ids[20]}});
  BOOST_TEST(ids_of(p3["messages"]) == slice(0, 20));
  BOOST_TEST(p3.value("more", json()) == json(false));
  json pd = history({});
  BOOST_TEST(ids_of(pd["messages"]) == slice(70, 120), "default limit is page_size 50");
  json p100 = history({{"limit", 100}});
  BOOST_TEST(ids_of(p100["messages"]) == slice(20, 120));
  BOOST_TEST(p100.value("more", json()) == json(true));
  json small = history({{"limit", 1}, {"before", ids[1]}});
  BOOST_TEST(ids_of(small["messages"]) == slice(0, 1));
  BOOST_TEST(small.value("more", json()) == json(false));
  // Messages keep all their fields in history.
  check_message_shape(p3["messages"][0], room, "alice", "m0");
  BOOST_TEST(str(p3["messages"][0], "cid") == "p0");

  // Out of range limits: clamped to at most 100 or refused as bad_request; never silence.
  for (int limit : {1000, 0, -1}) {
    BOOST_REQUIRE(a.send_json({{"type", "history"}, {"room", room}, {"limit", limit}}));
    auto r = a.wait_for(
      [&](const json& e) { return is_type_in_room("history", room)(e) || is_type("error")(e); }, after(5s));
    BOOST_REQUIRE_MESSAGE(r.has_value(), "no reply to history limit " << limit);
    if (str(*r, "type") == "error")
      BOOST_TEST(str(*r, "code") == "bad_request", r->dump());
    else
      BOOST_TEST((*r)["messages"].size() <= 100u, "limit " << limit);
  }

  // A newcomer gets the newest page; with `since`, exactly everything after it.
  ws_client b = open_client(node);
  json jb = join(b, room, "bob");
  BOOST_TEST(ids_of(jb["history"]) == slice(70, 120));
  BOOST_TEST(jb.value("more", json()) == json(true));

  ws_client c = open_client(node);
  json jc = join(c, room, "carol", ids[99]);
  BOOST_TEST(ids_of(jc["history"]) == slice(100, 120));

  ws_client d = open_client(node);
  json jd = join(d, room, "dave", ids[9]);
  BOOST_TEST(ids_of(jd["history"]) == slice(10, 120), "since must return every message after it");

  ws_client e = open_client(node);
  json je = join(e, room, "erin", ids.back());
  BOOST_TEST(je["history"].empty(), je.dump().substr(0, 300));
}

BOOST_FIXTURE_TEST_CASE(repeated_cid_is_stored_once, node_fixture) {
  const std::string room = unique_name("cid");
  ws_client a = open_client(node);
  join(a, room, "alice");
  ws_client b = open_client(node);
  join(b, room, "bob");

  json first = send_and_ack(a, room, "only once", "dup");
  json again = send_and_ack(a, room, "only once", "dup");
  BOOST_TEST(str(again, "id") == str(first, "id"));
  BOOST_TEST(again.value("ts", json()) == first.value("ts", json()));
  BOOST_TEST(str(again, "text") == "only once");

  // Bob saw it once (barrier: a later message from alice).
  send_and_ack(a, room, "sentinel", "after-dup");
  std::vector<json> seen;
  for (;;) {
    auto m = b.next_event(after(5s));
    BOOST_REQUIRE_MESSAGE(m.has_value(), "bob never got the sentinel");
    seen.push_back(*m);
    if (is_message_with_cid("after-dup")(*m))
      break;
  }
  BOOST_TEST(count_if(seen, is_message_with_cid("dup")) == 1u);

  // The same cid from another user is another message.
  json bobs = send_and_ack(b, room, "bob's own", "dup");
  BOOST_TEST(str(bobs, "id") != str(first, "id"));
  BOOST_TEST(str(bobs, "user") == "bob");

  BOOST_REQUIRE(a.send_json({{"type", "history"}, {"room", room}}));
  auto h = a.wait_for(is_type_in_room("history", room), after(5s));
  BOOST_REQUIRE(h.has_value());
  std::size_t alice_dups = 0;
  for (const auto& m : (*h)["messages"])
    if (str(m, "cid") == "dup" && str(m, "user") == "alice")
      ++alice_dups;
  BOOST_TEST(alice_dups == 1u, h->dump());
  BOOST_TEST((*h)["messages"].size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(names_are_trimmed_and_bounded, node_fixture) {
  ws_client a = open_client(node);
  const std::string room64(64, 'r');
  json j = join(a, room64, "  carol  ");
  BOOST_TEST((names_of(j["members"]) == std::vector<std::string>{"carol"}), j.dump());
  json ack = send_and_ack(a, room64, "hi", "t1");
  BOOST_TEST(str(ack, "user") == "carol");
  const std::string name32(32, 'n');
  json j2 = join(a, "Room_with.all-chars_09", name32);
  BOOST_TEST((names_of(j2["members"]) == std::vector<std::string>{name32}));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(errors)

BOOST_FIXTURE_TEST_CASE(bad_json_keeps_the_connection, node_fixture) {
  const std::string room = unique_name("badjson");
  ws_client a = open_client(node);
  join(a, room, "alice");
  for (const char* frame : {"not json", "{", "[1,2]", "[{\"type\":\"typing\",\"room\":\"x\"}]",
                            "\"a string\"", "42", "null", "true", ""}) {
    BOOST_TEST_CONTEXT("frame '" << frame << "'") {
      expect_error_text(a, frame, "bad_json");
    }
  }
  BOOST_REQUIRE(a.send_binary(json{{"type", "send"}, {"room", room}, {"text", "bin"}}.dump()));
  auto e = a.wait_for(is_type("error"), after(5s));
  BOOST_REQUIRE_MESSAGE(e.has_value(), "no error for a binary frame");
  BOOST_TEST(str(*e, "code") == "bad_json", e->dump());
  BOOST_TEST(a.is_open());
  send_and_ack(a, room, "still here", "alive");
  // Nothing of the binary frame was stored.
  BOOST_REQUIRE(a.send_json({{"type", "history"}, {"room", room}}));
  auto h = a.wait_for(is_type_in_room("history", room), after(5s));
  BOOST_REQUIRE(h.has_value());
  BOOST_TEST((*h)["messages"].size() == 1u, h->dump());
}

BOOST_FIXTURE_TEST_CASE(bad_request_for_every_invalid_field, node_fixture) {
  const std::string room = unique_name("badreq");
  ws_client a = open_client(node);
  join(a, room, "alice");
  const json requests[] = {
    {{"type", "no_such_type"}, {"cid", "u1"}},
    {{"room", room}, {"text", "no type"}, {"cid", "u2"}},
    {{"type", 7}, {"room", room}},
    {{"type", "join"}, {"name", "bob"}},                        // missing room
    {{"type", "join"}, {"room", "bad room!"}, {"name", "bob"}}, // invalid chars
    {{"type", "join"}, {"room", "sl/ash"}, {"name", "bob"}},
    {{"type", "join"}, {"room", "\u00e9t\u00e9"}, {"name", "bob"}},
    {{"type", "join"}, {"room", ""}, {"name", "bob"}},
    {{"type", "join"}, {"room", std::string(65, 'r')}, {"name", "bob"}},
    {{"type", "join"}, {"room", 12}, {"name", "bob"}},
    {{"type", "join"}, {"room", room}}, // missing name
    {{"type", "join"}, {"room", room}, {"name", ""}},
    {{"type", "join"}, {"room", room}, {"name", "   "}},
    {{"type", "join"}, {"room", room}, {"name", std::string(33, 'n')}},
    {{"type", "join"}, {"room", room}, {"name", 5}},
    {{"type", "send"}, {"room", room}, {"text", ""}, {"cid", "e1"}},
    {{"type", "send"}, {"room", room}, {"cid", "e2"}}, // missing text
    {{"type", "send"}, {"room", room}, {"text", 3}, {"cid", "e3"}},
    {{"type", "send"}, {"text", "no room"}, {"cid", "e4"}},
    {{"type", "send"}, {"room", room}, {"text", "long cid"}, {"cid", std::string(65, 'c')}},
    {{"type", "leave"}},
    {{"type", "typing"}},
    {{"type", "history"}},
    {{"type", "history"}, {"room", room}, {"before", "not-an-id"}},
  };
  for (const auto& req : requests) {
    BOOST_TEST_CONTEXT("request " << req.dump().substr(0, 120)) {
      expect_error(a, req, "bad_request");
    }
  }
  BOOST_TEST(a.is_open());
  // None of them joined or stored anything.
  BOOST_REQUIRE(a.send_json({{"type", "history"}, {"room", room}}));
  auto h = a.wait_for(is_type_in_room("history", room), after(5s));
  BOOST_REQUIRE(h.has_value());
  BOOST_TEST((*h)["messages"].empty(), h->dump());
  ws_client b = open_client(node);
  json j = join(b, room, "bob");
  BOOST_TEST((names_of(j["members"]) == std::vector<std::string>{"alice", "bob"}), j.dump());
  // A cid of exactly 64 characters is fine.
  send_and_ack(a, room, "cid64", std::string(64, 'c'));
}

BOOST_FIXTURE_TEST_CASE(not_joined_and_too_large, node_fixture) {
  const std::string room = unique_name("nj");
  ws_client a = open_client(node);
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", "hi"}, {"cid", "n1"}}, "not_joined");
  join(a, room, "alice");
  expect_error(a, {{"type", "send"}, {"room", room + "-other"}, {"text", "hi"}, {"cid", "n2"}}, "not_joined");
  // history of a room not joined: answered (not_joined or the history), never silence.
  BOOST_REQUIRE(a.send_json({{"type", "history"}, {"room", room + "-other"}}));
  auto r = a.wait_for([&](const json& e) { return is_type("error")(e) || is_type("history")(e); }, after(5s));
  BOOST_REQUIRE_MESSAGE(r.has_value(), "no reply to history of a room not joined");
  if (str(*r, "type") == "error")
    BOOST_TEST(str(*r, "code") == "not_joined", r->dump());
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", std::string(4001, 'x')}, {"cid", "n3"}},
               "too_large");
  // Well under the frame limit but far over the text limit: still just too_large.
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", std::string(60000, 'x')}, {"cid", "n4"}},
               "too_large");
  BOOST_TEST(a.is_open());
  send_and_ack(a, room, "ok", "n5");
}

// Errors answering a request that carried a cid carry it too: every
// request about a room, for a room not joined.
BOOST_FIXTURE_TEST_CASE(every_refusal_carries_the_requests_cid, node_fixture) {
  const std::string room = unique_name("nocid");
  ws_client a = open_client(node);
  expect_error(a, {{"type", "history"}, {"room", room}, {"cid", "h1"}}, "not_joined");
  expect_error(a, {{"type", "thread"}, {"room", room}, {"root", "1-0"}, {"cid", "t1"}}, "not_joined");
  expect_error(a, {{"type", "members"}, {"room", room}, {"cid", "m1"}}, "not_joined");
  expect_error(a, {{"type", "typing"}, {"room", room}, {"cid", "y1"}}, "not_joined");
  expect_error(a, {{"type", "read"}, {"room", room}, {"id", "1-0"}, {"cid", "r1"}}, "not_joined");
  expect_error(a, {{"type", "leave"}, {"room", room}, {"cid", "l1"}}, "not_joined");
  expect_error(a, {{"type", "moderate"}, {"room", room}, {"action", "mute"}, {"user", "x"}, {"cid", "o1"}},
               "not_joined");
  expect_error(a, {{"type", "edit"}, {"room", room}, {"target", "1-0"}, {"text", "x"}, {"cid", "e1"}},
               "not_joined");
  expect_error(a, {{"type", "search"}, {"room", room}, {"query", "x"}, {"cid", "s1"}}, "unavailable");
  expect_error(a, {{"type", "dms"}, {"cid", "d1"}}, "forbidden");
  BOOST_TEST(a.is_open());
}

BOOST_FIXTURE_TEST_CASE(errors_are_counted_in_metrics, node_fixture) {
  const std::string room = unique_name("errmetrics");
  ws_client a = open_client(node);
  join(a, room, "alice");
  expect_error_text(a, "nope", "bad_json");
  expect_error(a, {{"type", "bogus"}}, "bad_request");
  expect_error(a, {{"type", "send"}, {"room", "elsewhere"}, {"text", "x"}}, "not_joined");
  expect_error(a, {{"type", "send"}, {"room", room}, {"text", std::string(4001, 'x')}}, "too_large");
  std::string text;
  bool ok = eventually(
    [&] {
      text = metrics_text(node);
      for (const char* code : {"bad_json", "bad_request", "not_joined", "too_large"})
        if (metric_or_zero(text, std::string("chatnode_errors_total{code=\"") + code + "\"}") < 1)
          return false;
      return true;
    },
    after(5s));
  BOOST_TEST(ok, text);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(frame_limits)

BOOST_FIXTURE_TEST_CASE(frame_over_max_closes_1009, node_fixture) {
  ws_client a = open_client(node);
  join(a, unique_name("big"), "alice");
  // One hand-made frame: the case is the frame header announcing too much. The case
  // below covers a client still writing its message when the node refuses it.
  a.send_raw(ws_client::make_frame(1, std::string(70000, 'x')));
  auto code = a.expect_close(after(5s), false);
  BOOST_REQUIRE_MESSAGE(code.has_value(), "not closed after a 70000-byte frame");
  BOOST_TEST(*code == 1009, "close code " << *code << ", " << a.last_error());
  // The node itself is fine.
  ws_client b = open_client(node);
  BOOST_TEST(b.is_open());
}

BOOST_FIXTURE_TEST_CASE(oversized_message_still_being_written_gets_1009_not_a_reset, node_fixture) {
  // A client that writes all of a message before it reads (a browser does):
  // the node reads and drops the rest after refusing it, so the write ends
  // and the close frame is read. Hanging up on unread bytes resets the
  // connection under the write, and Chromium then reports 1006.
  ws_client a = open_client(node);
  BOOST_REQUIRE_MESSAGE(a.send_text(std::string(32u << 20, 'x'), after(20s)),
                        "the write failed: " << a.last_error());
  auto code = a.expect_close(after(5s), false);
  BOOST_REQUIRE_MESSAGE(code.has_value(), "not closed: " << a.last_error());
  BOOST_TEST(*code == 1009, "close code " << *code << ", " << a.last_error());
  ws_client b = open_client(node);
  BOOST_TEST(b.is_open());
}

BOOST_AUTO_TEST_CASE(frame_limit_is_configurable) {
  node_options o;
  o.env = {{"CHATNODE_LIMITS_MAX_FRAME_BYTES", "4096"}};
  node_fixture f(o);
  const std::string room = unique_name("small");
  ws_client a = open_client(f.node);
  join(a, room, "alice");
  send_and_ack(a, room, std::string(3000, 'a'), "fits");
  a.send_raw(ws_client::make_frame(
    1, json{{"type", "send"}, {"room", room}, {"text", std::string(5000, 'b')}}.dump()));
  auto code = a.expect_close(after(5s), false);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 1009, "close code " << *code << ", " << a.last_error());
}

BOOST_FIXTURE_TEST_CASE(invalid_utf8_closes_1007, node_fixture) {
  const std::string room = unique_name("utf8");
  {
    ws_client a = open_client(node);
    join(a, room, "alice");
    BOOST_REQUIRE(a.send_text("\xff\xfe{}"));
    auto code = a.expect_close(after(5s), false);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1007, "close code " << *code << ", " << a.last_error());
  }
  {
    ws_client a = open_client(node);
    join(a, room, "alice");
    BOOST_REQUIRE(
      a.send_text("{\"type\":\"send\",\"room\":\"" + room + "\",\"text\":\"bad \xc3\x28 byte\"}"));
    auto code = a.expect_close(after(5s), false);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1007, "close code " << *code << ", " << a.last_error());
  }
  {
    // Overlong encoding of '/' (C0 AF) is invalid UTF-8 too; sent as a hand-made frame.
    ws_client a = open_client(node);
    BOOST_REQUIRE(a.send_raw(ws_client::make_frame(1, "{\"x\":\"\xc0\xaf\"}")));
    auto code = a.expect_close(after(5s), false);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1007, "close code " << *code << ", " << a.last_error());
  }
  ws_client b = open_client(node);
  json j = join(b, room, "bob");
  BOOST_TEST(j["history"].empty(), "an invalid frame was stored: " << j.dump());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(origin)

BOOST_FIXTURE_TEST_CASE(default_policy, node_fixture) {
  const std::string self = "http://127.0.0.1:" + std::to_string(node.port());
  auto status = [&](const std::string& origin) { // "": no Origin header
    ws_client c;
    connect_options o;
    o.origin = origin;
    int s = c.connect(node.host(), node.port(), o);
    if (s == 101) {
      auto w = c.next_event(after(5s));
      BOOST_TEST((w && str(*w, "type") == "welcome"), "no welcome after an accepted upgrade");
    }
    return s;
  };
  BOOST_TEST(status("") == 101, "no Origin (non-browser client)");
  BOOST_TEST(status(self) == 101, "same host as the Host header");
  BOOST_TEST(status("http://evil.example") == 403);
  BOOST_TEST(status("http://127.0.0.1.evil.example") == 403);
  BOOST_TEST(status("null") == 403);
  BOOST_TEST(get(node, "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(missing_origin_can_be_refused) {
  node_options o;
  o.env = {{"CHATNODE_HTTP_ALLOW_MISSING_ORIGIN", "false"}};
  node_fixture f(o);
  ws_client c;
  BOOST_TEST(c.connect(f.node.host(), f.node.port()) == 403);
  connect_options same;
  same.origin = "http://127.0.0.1:" + std::to_string(f.node.port());
  ws_client d;
  BOOST_TEST(d.connect(f.node.host(), f.node.port(), same) == 101);
}

BOOST_AUTO_TEST_CASE(allowed_origins_list) {
  node_options o;
  o.env = {{"CHATNODE_HTTP_ALLOWED_ORIGINS", "http://a.example,http://b.example"}};
  node_fixture f(o);
  auto status = [&](const std::string& origin) {
    ws_client c;
    connect_options co;
    co.origin = origin;
    return c.connect(f.node.host(), f.node.port(), co);
  };
  BOOST_TEST(status("http://a.example") == 101);
  BOOST_TEST(status("http://b.example") == 101);
  BOOST_TEST(status("http://c.example") == 403);
  BOOST_TEST(status("http://evil.example") == 403);
  BOOST_TEST(status("http://127.0.0.1:" + std::to_string(f.node.port())) == 101,
             "same host stays allowed with a list");
  ws_client none;
  BOOST_TEST(none.connect(f.node.host(), f.node.port()) == 101);
}

BOOST_AUTO_TEST_SUITE_END()

#include "actors/redis_bus/cluster_slots.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

namespace {

redis_reply integer(long long v) {
  return {redis_reply::kind::integer, v, {}, {}};
}
redis_reply string(std::string s) {
  return {redis_reply::kind::string, 0, std::move(s), {}};
}
redis_reply array(std::vector<redis_reply> e) {
  return {redis_reply::kind::array, 0, {}, std::move(e)};
}
redis_reply node(std::string host, int port) {
  return array({string(std::move(host)), integer(port), string("id")});
}

} // namespace

BOOST_AUTO_TEST_SUITE(cluster_slots_suite)

BOOST_AUTO_TEST_CASE(key_slots_match_redis) {
  // CLUSTER KEYSLOT of a real Redis for these keys.
  BOOST_TEST(key_slot("foo") == 12182);
  BOOST_TEST(key_slot("bar") == 5061);
  BOOST_TEST(key_slot("123456789") == 0x31C3 % 16384);
  // Only the hash tag counts, so a room's keys share its slot.
  BOOST_TEST(key_slot("{user1000}.following") == key_slot("user1000"));
  BOOST_TEST(key_slot("chatnode:{lobby}:log") == key_slot("chatnode:{lobby}:live"));
  BOOST_TEST(key_slot("chatnode:{lobby}:log") == key_slot("lobby"));
  // An empty tag is no tag; the first '{' and the next '}' make the tag.
  BOOST_TEST(key_slot("foo{}{bar}") != key_slot("bar"));
  BOOST_TEST(key_slot("foo{{bar}}zap") == key_slot("{bar"));
  BOOST_TEST(key_slot("foo{bar}{zap}") == key_slot("bar"));
}

BOOST_AUTO_TEST_CASE(cluster_slots_reply_gives_the_shards) {
  auto reply = array({
    array({integer(0), integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)}),
    array({integer(5461), integer(10922), node("10.0.0.2", 7001)}),
    array({integer(10923), integer(16383), node("10.0.0.3", 7002), node("10.0.0.5", 7004),
           node("10.0.0.6", 7005)}),
  });
  auto shards = parse_cluster_slots(reply);
  BOOST_TEST_REQUIRE(shards.size() == 3u);
  BOOST_TEST(shards[0].master.text() == "10.0.0.1:7000");
  BOOST_TEST(shards[0].replicas.size() == 1u);
  BOOST_TEST(shards[2].last == 16383);
  BOOST_TEST(shards[2].replicas.size() == 2u);

  slot_map map;
  map.assign(shards);
  BOOST_TEST(map.masters().size() == 3u);
  BOOST_TEST(map.master_of(0)->text() == "10.0.0.1:7000");
  BOOST_TEST(map.master_of(5461)->text() == "10.0.0.2:7001");
  BOOST_TEST(map.master_of(16383)->text() == "10.0.0.3:7002");
  map.move(5461, {"10.0.0.3", 7002});
  BOOST_TEST(map.master_of(5461)->text() == "10.0.0.3:7002");
  BOOST_TEST(map.master_of(5462)->text() == "10.0.0.2:7001");
}

BOOST_AUTO_TEST_CASE(malformed_cluster_slots_give_nothing) {
  BOOST_TEST(parse_cluster_slots(string("ERR This instance has cluster support disabled")).empty());
  BOOST_TEST(parse_cluster_slots(array({array({integer(5), integer(2), node("h", 1)})})).empty());
  BOOST_TEST(parse_cluster_slots(array({array({integer(0), integer(16384), node("h", 1)})})).empty());
  BOOST_TEST(parse_cluster_slots(array({array({integer(0), integer(1), node("h", 0)})})).empty());
  slot_map map;
  BOOST_TEST(map.empty());
  BOOST_TEST(map.master_of(7) == nullptr);
}

BOOST_AUTO_TEST_CASE(redirections_parse) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  BOOST_TEST_REQUIRE(moved.has_value());
  BOOST_TEST(!moved->ask);
  BOOST_TEST(moved->slot == 3999);
  BOOST_TEST(moved->to.text() == "127.0.0.1:6381");
  auto ask = parse_redirect("ASK 12 [::1]:7000");
  BOOST_TEST_REQUIRE(ask.has_value());
  BOOST_TEST(ask->ask);
  BOOST_TEST(ask->to.host == "::1");
  BOOST_TEST(!parse_redirect("ERR unknown command"));
  BOOST_TEST(!parse_redirect("MOVED 16384 h:1"));
  BOOST_TEST(!parse_redirect("MOVED 1 h:0"));
  BOOST_TEST(!parse_redirect("MOVED x h:1"));
}

BOOST_AUTO_TEST_CASE(commands_route_by_their_first_key) {
  BOOST_TEST(*routing_key({"EVALSHA", "abc", "3", "k1", "k2", "k3", "a"}) == "k1");
  BOOST_TEST(*routing_key({"XRANGE", "chatnode:{r}:log", "-", "+"}) == "chatnode:{r}:log");
  BOOST_TEST(*routing_key({"SPUBLISH", "chatnode:{r}:live", "t"}) == "chatnode:{r}:live");
  BOOST_TEST(*routing_key({"evalsha", "abc", "1", "k9"}) == "k9"); // any case
  BOOST_TEST(!routing_key({"SCRIPT", "LOAD", "return 1"}));
  BOOST_TEST(!routing_key({"EVAL", "return 1", "0"}));
  BOOST_TEST(!routing_key({"PING"}));
  BOOST_TEST(!routing_key({}));
}

BOOST_AUTO_TEST_SUITE_END()

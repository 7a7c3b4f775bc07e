#include "actors/embedded_bus/link_cache.hpp"
#include "actors/previews/first_link.hpp"
#include "actors/wire/protocol.hpp"

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(previews_suite)

BOOST_AUTO_TEST_CASE(the_first_link_is_taken_as_the_page_shows_it) {
  BOOST_TEST(first_link("see https://example.com/a?b=1#c now") == "https://example.com/a?b=1#c");
  BOOST_TEST(first_link("HTTP://Example.com/x.") == "HTTP://Example.com/x");
  BOOST_TEST(first_link("(at https://en.wikipedia.org/wiki/C_(language)), ok") ==
             "https://en.wikipedia.org/wiki/C_(language)");
  BOOST_TEST(first_link("(https://example.com/x)") == "https://example.com/x");
  BOOST_TEST(first_link("first http://a.example/1 then https://b.example/2") == "http://a.example/1");
  BOOST_TEST(first_link("<https://example.com/in-brackets>") == "https://example.com/in-brackets");
  // Not links: another scheme, inside a word, a scheme with nothing after it.
  BOOST_TEST(first_link("ftp://example.com javascript:alert(1) mailto:a@b") == "");
  BOOST_TEST(first_link("xhttps://example.com") == "");
  BOOST_TEST(first_link("https:// and http://") == "");
  BOOST_TEST(first_link("\xc3\xa9https://example.com") == "", "after a letter beyond ASCII");
  BOOST_TEST(first_link("https://example.com/" + std::string(3000, 'a')) == "", "too long to preview");
}

BOOST_AUTO_TEST_CASE(the_cache_hands_a_link_to_one_fetcher_then_keeps_what_it_found) {
  link_cache cache;
  auto t = link_cache::clock::now();
  BOOST_TEST((cache.look_up("https://a.example/", t).what == cached_preview::state::fetch));
  BOOST_TEST((cache.look_up("https://a.example/", t).what == cached_preview::state::wait));
  cache.keep("https://a.example/", link_preview{"https://a.example/", "A", "", "a.example", ""}, t);
  auto found = cache.look_up("https://a.example/", t + std::chrono::minutes{59});
  BOOST_TEST((found.what == cached_preview::state::found));
  BOOST_TEST(found.preview->title == "A");
  // Nothing usable is kept too, and an hour later it is fetched again.
  cache.keep("https://b.example/", std::nullopt, t);
  auto none = cache.look_up("https://b.example/", t);
  BOOST_TEST((none.what == cached_preview::state::found && !none.preview));
  BOOST_TEST(
    (cache.look_up("https://a.example/", t + std::chrono::minutes{61}).what == cached_preview::state::fetch));
  // A fetcher that never came back leaves its claim after 30 s.
  BOOST_TEST((cache.look_up("https://c.example/", t).what == cached_preview::state::fetch));
  BOOST_TEST(
    (cache.look_up("https://c.example/", t + std::chrono::seconds{31}).what == cached_preview::state::fetch));
}

BOOST_AUTO_TEST_CASE(a_full_cache_makes_room) {
  link_cache cache{3};
  auto t = link_cache::clock::now();
  for (int i = 0; i < 10; ++i)
    cache.keep("https://" + std::to_string(i) + ".example/", std::nullopt, t);
  // The newest is there; the cache never held more than 3.
  BOOST_TEST((cache.look_up("https://9.example/", t).what == cached_preview::state::found));
}

BOOST_AUTO_TEST_CASE(a_preview_is_an_event_and_part_of_its_message_snapshot) {
  message_change change;
  change.kind = change_kind::preview;
  change.room = "news";
  change.id = {20, 1};
  change.target = {10, 0};
  change.user = "ann";
  change.ts = 20;
  change.preview = {"https://example.com/\"q\"", "T <b>", "D", "S", ""};
  auto event = nlohmann::json::parse(encode_change(change));
  BOOST_TEST(event["type"] == "preview");
  BOOST_TEST(event["target"] == "10-0");
  BOOST_TEST(event["url"] == "https://example.com/\"q\"");
  BOOST_TEST(event["title"] == "T <b>");
  BOOST_TEST(!event.contains("user"), "a preview is the node's");
  BOOST_TEST(!event.contains("image"));

  chat_message msg{"news", {10, 0}, "ann", "see https://example.com", 10, "", {}, {}, {}};
  message_state state;
  state.preview = link_preview{"https://example.com", "T", "", "example.com", "/files/x/y.jpg"};
  auto current = nlohmann::json::parse(encode_current_message(msg, state));
  BOOST_TEST(current["preview"]["site"] == "example.com");
  BOOST_TEST(current["preview"]["image"] == "/files/x/y.jpg");
  state.deleted = true;
  BOOST_TEST(!nlohmann::json::parse(encode_current_message(msg, state)).contains("preview"));
}

BOOST_AUTO_TEST_SUITE_END()

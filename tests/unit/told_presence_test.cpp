// What a room's members were told of its presence, and what they will be:
// changes undone before a batch are not told, pages follow name order, and
// each member's list changes by what it holds. Also the `members` request
// and the frames that answer it.

#include "actors/chat/told_presence.hpp"
#include "actors/wire/protocol.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

using namespace chatnode;
using json = nlohmann::json;

namespace {
using names = std::vector<std::string>;
} // namespace

BOOST_AUTO_TEST_SUITE(told_presence_rules)

BOOST_AUTO_TEST_CASE(a_change_undone_before_the_batch_is_not_told) {
  told_presence told;
  told.apply("bob", true);
  told.note("carol", true);
  told.note("carol", false); // came and went within the interval
  told.note("bob", true);    // already told
  told.note("bob", false);
  told.note("alice", true);
  BOOST_TEST(told.pending());
  auto changes = told.take();
  BOOST_TEST(changes.joins == names({"alice"}));
  BOOST_TEST(changes.leaves == names({"bob"}));
  BOOST_TEST(changes.count_before == 1u);
  BOOST_TEST(changes.count == 1u);
  BOOST_TEST(!told.pending());
  BOOST_TEST(told.contains("alice"));
  BOOST_TEST(!told.contains("bob"));
}

BOOST_AUTO_TEST_CASE(pages_follow_name_order_and_say_when_names_follow) {
  told_presence told;
  for (auto name : {"dave", "alice", "carol", "bob", "erin"})
    told.apply(name, true);
  told.note("aaron", true); // not told yet: not listed
  auto first = told.page(std::nullopt, 2);
  BOOST_TEST(first.names == names({"alice", "bob"}));
  BOOST_TEST(first.more);
  BOOST_TEST(first.count == 5u);
  auto next = told.page(std::string{"bob"}, 10);
  BOOST_TEST(next.names == names({"carol", "dave", "erin"}));
  BOOST_TEST(!next.more);
  auto between = told.page(std::string{"bz"}, 1); // after a name no longer there
  BOOST_TEST(between.names == names({"carol"}));
}

BOOST_AUTO_TEST_CASE(a_member_holds_the_first_page_or_what_it_asked_for) {
  using reach = member_window::reach;
  member_window window{reach::first_page, {}};
  window.extend(member_page{{"nina", "oscar"}, 10, true});
  BOOST_TEST((window.kind == reach::asked_upto));
  BOOST_TEST(window.last == "oscar");
  window.extend(member_page{{"alice"}, 10, true}); // an earlier page: the reach stays
  BOOST_TEST(window.last == "oscar");
  window.extend(member_page{{"zed"}, 10, false}); // the last page: every name
  BOOST_TEST((window.kind == reach::asked_all));

  // Given every name while the room was small, it pages to the end before
  // the batch that makes the room big: it keeps every name, no cut.
  member_window given{reach::given_all, {}};
  given.extend(member_page{{"alice", "bob"}, 5, true});
  BOOST_TEST((given.kind == reach::given_all));
  given.extend(member_page{{"carol"}, 5, false});
  BOOST_TEST((given.kind == reach::asked_all));
  given.after_batch(true);
  BOOST_TEST((given.kind == reach::asked_all));

  presence_changes changes{{"aaron", "mike", "zed"}, {"bob", "yann"}, 10, 9};
  auto upto = changes_upto(changes, "mike");
  BOOST_TEST(upto.add == names({"aaron", "mike"}));
  BOOST_TEST(upto.remove == names({"bob"}));

  // The first page moves: a name before it pushes its last one out.
  auto moved = first_page_diff(member_page{{"bob", "carol", "dave"}, 5, true},
                               member_page{{"aaron", "bob", "carol"}, 6, true});
  BOOST_TEST(moved.add == names({"aaron"}));
  BOOST_TEST(moved.remove == names({"dave"}));
  BOOST_TEST(moved.upto == "carol");
  auto whole =
    first_page_diff(member_page{{"bob", "carol"}, 3, true}, member_page{{"bob", "carol", "dave"}, 3, false});
  BOOST_TEST(whole.add == names({"dave"}));
  BOOST_TEST(whole.upto.empty()); // the whole list: no limit
}

BOOST_AUTO_TEST_CASE(a_batch_changes_each_list_by_what_it_holds) {
  using reach = member_window::reach;
  // Told before: alice, bob, carol, dave, erin; the batch: aaron came, dave left.
  presence_changes changes{{"aaron"}, {"dave"}, 5, 5};
  member_page before{{"alice", "bob"}, 5, true};
  member_page after{{"aaron", "alice"}, 5, true};
  auto cut = batch_diff(member_window{reach::given_all, {}}, changes, before, after);
  BOOST_TEST(cut.add == names({"aaron"}));
  BOOST_TEST(cut.remove.empty()); // dave is past the first page: dropped by upto
  BOOST_TEST(cut.upto == "alice");
  auto first = batch_diff(member_window{reach::first_page, {}}, changes, before, after);
  BOOST_TEST(first.add == names({"aaron"}));
  BOOST_TEST(first.remove == names({"bob"}));
  auto asked = batch_diff(member_window{reach::asked_upto, "dave"}, changes, before, after);
  BOOST_TEST(asked.add == names({"aaron"}));
  BOOST_TEST(asked.remove == names({"dave"}));
  BOOST_TEST(asked.upto.empty());
  // The room is small after the batch: a partial list gets the rest.
  member_page whole{{"aaron", "alice", "bob", "carol", "erin"}, 5, false};
  auto rest = batch_diff(member_window{reach::asked_upto, "bob"}, changes, before, whole);
  BOOST_TEST(rest.add == names({"aaron", "carol", "erin"}));
  member_window window{reach::asked_upto, "bob"};
  window.after_batch(false);
  BOOST_TEST((window.kind == reach::given_all));
  window.after_batch(true);
  BOOST_TEST((window.kind == reach::first_page));
}

BOOST_AUTO_TEST_CASE(members_requests_are_decoded_and_pages_encoded) {
  protocol_limits limits;
  auto req =
    std::get<request>(decode_request(R"({"type":"members","room":"r","after":"bob","limit":7})", limits));
  BOOST_TEST((req.type == request_type::members));
  BOOST_TEST((req.after == std::optional<std::string>{"bob"}));
  BOOST_TEST(req.limit == 7u);
  auto plain = std::get<request>(decode_request(R"({"type":"members","room":"r"})", limits));
  BOOST_TEST(!plain.after);
  BOOST_TEST(plain.limit == default_members_page);
  for (const char* bad :
       {R"({"type":"members"})", R"({"type":"members","room":"r","after":5})",
        R"({"type":"members","room":"r","limit":501})", R"({"type":"members","room":"r","limit":0})",
        R"({"type":"members","room":"r","after":"123456789012345678901234567890123"})"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(std::holds_alternative<decode_error>(decode_request(bad, limits)));
  }
  auto page = json::parse(encode_members("r", {"a\"b", "c"}, 9, true));
  BOOST_TEST(page ==
             json::parse(R"({"type":"members","room":"r","members":["a\"b","c"],"count":9,"more":true})"));
  auto diff = json::parse(encode_presence_diff("r", {"a", "b"}, {}, 4, "c"));
  BOOST_TEST(
    diff ==
    json::parse(R"({"type":"presence_diff","room":"r","joins":["a","b"],"leaves":[],"count":4,"upto":"c"})"));
}

BOOST_AUTO_TEST_SUITE_END()

#include "actors/embedded_bus/push_registry.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace chatnode;
namespace fs = std::filesystem;

namespace {

struct scratch_dir {
  fs::path path = fs::temp_directory_path() / ("chatnode-push-registry-" + std::to_string(::getpid()));
  scratch_dir() { fs::remove_all(path); }
  ~scratch_dir() { fs::remove_all(path); }
};

push_subscription sub(const std::string& user, int i, const std::string& key = "k") {
  return {user, "https://push.example.net/" + std::to_string(i), key, "a"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(push_registry_suite)

BOOST_AUTO_TEST_CASE(at_most_ten_per_user_and_the_same_endpoint_replaces_its_keys) {
  push_registry r;
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(r.subscribe(sub("ann", i)));
  BOOST_TEST(!r.subscribe(sub("ann", 10)));
  BOOST_TEST(r.subscribe(sub("bob", 10))); // counted per user
  BOOST_TEST(r.subscribe(sub("ann", 3, "renewed")));
  BOOST_TEST(r.subscriptions("ann").size() == 10u);
  BOOST_TEST(r.subscriptions("ann")[3].p256dh == "renewed");
  BOOST_TEST(r.unsubscribe("ann", sub("ann", 3).endpoint));
  BOOST_TEST(!r.unsubscribe("ann", sub("ann", 3).endpoint));
  BOOST_TEST(r.subscribe(sub("ann", 10)));
  BOOST_TEST(r.subscriptions("nobody").empty());
}

BOOST_AUTO_TEST_CASE(levels_are_kept_for_at_most_a_thousand_rooms_a_user) {
  push_registry r;
  for (std::size_t i = 0; i < max_notify_levels; ++i)
    BOOST_TEST(r.set_level({"ann", "room-" + std::to_string(i), "all"}));
  BOOST_TEST(!r.set_level({"ann", "one-more", "all"}));
  BOOST_TEST(r.set_level({"ann", "room-7", "none"})); // a kept one changes
  BOOST_TEST(r.level("ann", "room-7") == "none");
  BOOST_TEST(r.level("ann", "one-more").empty());
  BOOST_TEST(r.set_level({"bob", "one-more", "all"}));
}

BOOST_AUTO_TEST_CASE(what_is_kept_in_the_file_is_read_back_after_a_restart) {
  scratch_dir dir;
  auto file = dir.path / "push" / "subscriptions.json";
  {
    push_registry r{file};
    BOOST_TEST(r.subscribe(sub("ann", 1)));
    // A burst of changes is one write, when the owner saves (or at the end).
    BOOST_TEST(r.unsaved());
    BOOST_TEST(!fs::exists(file));
    r.save();
    BOOST_TEST(!r.unsaved());
    BOOST_TEST(fs::exists(file));
    BOOST_TEST(r.subscribe(sub("ann", 2)));
    BOOST_TEST(r.unsubscribe("ann", sub("ann", 1).endpoint));
    r.set_level({"ann", "lobby", "none"});
  }
  BOOST_TEST(
    ((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write)));
  push_registry again{file};
  BOOST_REQUIRE(again.subscriptions("ann").size() == 1u);
  BOOST_TEST(again.subscriptions("ann")[0].endpoint == sub("ann", 2).endpoint);
  BOOST_TEST(again.subscriptions("ann")[0].user == "ann");
  BOOST_TEST(again.level("ann", "lobby") == "none");
  BOOST_TEST(again.level("ann", "elsewhere").empty());
}

BOOST_AUTO_TEST_CASE(a_file_not_of_its_shape_is_skipped_not_trusted) {
  scratch_dir dir;
  fs::create_directories(dir.path);
  auto file = dir.path / "subscriptions.json";
  for (const char* text : {"not json", "[1,2]", R"({"subscriptions":{"ann":[{"endpoint":1}]},"levels":[]})",
                           R"({"subscriptions":{"ann":"x"},"levels":{"ann":{"lobby":3}}})"}) {
    std::ofstream{file} << text;
    push_registry r{file};
    BOOST_TEST(r.subscriptions("ann").empty());
    BOOST_TEST(r.level("ann", "lobby").empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

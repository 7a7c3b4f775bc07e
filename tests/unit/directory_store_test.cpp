#include "node/files/directory_store.hpp"

#include "actors/contracts/upload_ticket.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace chatnode;
namespace fs = std::filesystem;

namespace {

struct store_fixture {
  fs::path root = fs::temp_directory_path() / ("chatnode-store-" + std::to_string(::getpid()));
  directory_store store{root / "files"};
  ~store_fixture() { fs::remove_all(root); }

  stored_file describe_new(const std::string& id) {
    return {id, "ann", "general", "a.txt", "text/plain", 5, std::string(64, 'a'), 1, 0, 0, ""};
  }

  std::size_t entries() {
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
      n += it->is_regular_file();
    return n;
  }
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(directory_stores, store_fixture)

BOOST_AUTO_TEST_CASE(a_committed_file_is_read_back_with_its_description) {
  auto id = new_file_id();
  {
    auto writer = store.create(id);
    BOOST_REQUIRE(writer);
    BOOST_TEST(!store.describe(id)); // not visible while written
    BOOST_TEST(writer->append("hel", 3));
    BOOST_TEST(writer->append("lo", 2));
    BOOST_TEST(writer->commit(describe_new(id)));
  }
  auto d = store.describe(id);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->user == "ann");
  BOOST_TEST(d->size == 5u);
  BOOST_TEST(read_all(store.data_path(id)) == "hello");
  BOOST_TEST(entries() == 2u); // the bytes and the description, nothing else
}

BOOST_AUTO_TEST_CASE(a_file_is_written_once) {
  auto id = new_file_id();
  auto first = store.create(id);
  BOOST_REQUIRE(first);
  BOOST_TEST(!store.create(id)); // being written
  BOOST_TEST(first->commit(describe_new(id)));
  BOOST_TEST(!store.create(id)); // written
}

BOOST_AUTO_TEST_CASE(a_writer_never_committed_leaves_nothing) {
  auto id = new_file_id();
  {
    auto writer = store.create(id);
    BOOST_REQUIRE(writer);
    BOOST_TEST(writer->append("partial", 7));
  }
  BOOST_TEST(entries() == 0u);
  BOOST_TEST(!store.describe(id));
  BOOST_TEST(store.create(id).has_value()); // the id is free again
}

BOOST_AUTO_TEST_CASE(removed_files_are_gone) {
  auto id = new_file_id();
  auto writer = store.create(id);
  BOOST_REQUIRE(writer);
  BOOST_TEST(writer->commit(describe_new(id)));
  BOOST_TEST(store.remove(id));
  BOOST_TEST(!store.describe(id));
  BOOST_TEST(entries() == 0u);
  BOOST_TEST(!store.remove(id));
}

BOOST_AUTO_TEST_CASE(a_sweep_removes_old_unsent_files_and_unfinished_uploads) {
  auto store_one = [&](std::int64_t created, bool sent) {
    auto id = new_file_id();
    auto writer = store.create(id);
    auto d = describe_new(id);
    d.created = created;
    BOOST_REQUIRE(writer->commit(d));
    if (sent)
      BOOST_REQUIRE(store.mark_sent(id));
    return id;
  };
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto old_unsent = store_one(now - 90000, false);
  auto new_unsent = store_one(now, false);
  auto old_sent = store_one(now - 90000, true);
  auto stale = store.create(new_file_id());
  BOOST_REQUIRE(stale);
  stale->append("x", 1);
  auto part = store.data_path(old_unsent);
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.path().extension() == ".part") {
      part = entry.path();
      fs::last_write_time(part, fs::file_time_type::clock::now() - std::chrono::hours{30});
    }

  BOOST_TEST(store.sweep(now - 86400) == 2u); // the old unsent file and the stale part
  BOOST_TEST(!store.describe(old_unsent));
  BOOST_TEST(store.describe(new_unsent).has_value());
  BOOST_TEST(store.describe(old_sent).has_value());
  BOOST_TEST(store.describe(old_sent)->sent);
  BOOST_TEST(!fs::exists(part));
  BOOST_TEST(store.sweep(now - 86400, now + 1) == 1u); // sent ones too, when asked
  BOOST_TEST(!store.describe(old_sent));
  BOOST_TEST(store.describe(new_unsent).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

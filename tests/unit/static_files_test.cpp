#include "node/edge/static_files.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

using namespace chatnode;
namespace fs = std::filesystem;

namespace {

struct web_root_fixture {
  fs::path base = fs::temp_directory_path() / ("chatnode-static-" + std::to_string(::getpid()));
  fs::path root = base / "web";

  web_root_fixture() {
    fs::create_directories(root / "sub");
    std::ofstream(root / "index.html") << "<p>index</p>";
    std::ofstream(root / "app.js") << "1";
    std::ofstream(root / "sub" / "index.html") << "sub";
    std::ofstream(root / "a b.css") << "x";
    std::ofstream(base / "secret.txt") << "secret";
    fs::create_symlink(base / "secret.txt", root / "link.txt");
    root = fs::canonical(root);
  }
  ~web_root_fixture() { fs::remove_all(base); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(static_files, web_root_fixture)

BOOST_AUTO_TEST_CASE(serves_files_under_the_root) {
  BOOST_TEST(resolve_static_path(root, "/").value() == root / "index.html");
  BOOST_TEST(resolve_static_path(root, "/index.html?v=2").value() == root / "index.html");
  BOOST_TEST(resolve_static_path(root, "/app.js").value() == root / "app.js");
  BOOST_TEST(resolve_static_path(root, "/sub").value() == root / "sub" / "index.html");
  BOOST_TEST(resolve_static_path(root, "/sub/").value() == root / "sub" / "index.html");
  BOOST_TEST(resolve_static_path(root, "/a%20b.css").value() == root / "a b.css");
  BOOST_TEST(!resolve_static_path(root, "/missing.js"));
}

BOOST_AUTO_TEST_CASE(never_leaves_the_root) {
  for (auto target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
        "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "//etc/passwd", "/%2fetc/passwd",
        "/..\\secret.txt", "/%5c..%5csecret.txt", "/link.txt", "/./index.html", "/index.html%00.js", "/%",
        "/%zz", "../secret.txt", "secret.txt", "", "http://host/../secret.txt"})
    BOOST_TEST(!resolve_static_path(root, target), "resolved " << target);
}

BOOST_AUTO_TEST_CASE(content_types) {
  BOOST_TEST(mime_type("x/index.html") == "text/html; charset=utf-8");
  BOOST_TEST(mime_type("app.js") == "text/javascript; charset=utf-8");
  BOOST_TEST(mime_type("style.css") == "text/css; charset=utf-8");
  BOOST_TEST(mime_type("icon.svg") == "image/svg+xml");
  BOOST_TEST(mime_type("blob") == "application/octet-stream");
}

BOOST_AUTO_TEST_SUITE_END()

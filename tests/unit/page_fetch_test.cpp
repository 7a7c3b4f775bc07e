#include "node/fetch/page_fetch.hpp"
#include "node/process/preview_fetcher.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

using namespace chatnode;
namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

/// A page server on loopback, answering by path, one connection at a time.
class page_server {
public:
  page_server()
    : acceptor_{io_, {net::ip::make_address("127.0.0.1"), 0}} {
    thread_ = std::thread{[this] { serve(); }};
  }
  ~page_server() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke{io_};
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + std::string{path};
  }

private:
  void serve() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket socket{io_};
      acceptor_.accept(socket, ec);
      if (ec || stop_)
        return;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec)
        continue;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/html; charset=utf-8");
      std::string path{req.target()};
      if (path == "/page") {
        res.body() = "<html><head><title>Hello</title><meta property=\"og:title\" content=\"OG\"></head>";
      } else if (path.starts_with("/hop")) {
        int n = std::stoi(path.substr(4));
        res.result(http::status::found);
        res.set(http::field::location, n == 0 ? "/page" : "/hop" + std::to_string(n - 1));
      } else if (path == "/metadata") {
        res.result(http::status::moved_permanently);
        res.set(http::field::location, "http://169.254.169.254/latest/meta-data/");
      } else if (path == "/json") {
        res.set(http::field::content_type, "application/json");
        res.body() = "{}";
      } else if (path == "/big") {
        res.body() = "<html><head><title>Big</title></head><body>" + std::string(3 * 1024 * 1024, 'x');
      } else if (path == "/pic") {
        res.set(http::field::content_type, "image/png");
        res.body() = std::string(1000, 'p');
      } else if (path == "/svg") {
        res.set(http::field::content_type, "image/svg+xml");
        res.body() = "<svg/>";
      } else if (path == "/slow") {
        std::this_thread::sleep_for(600ms);
        continue;
      } else {
        res.result(http::status::not_found);
      }
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

fetch_result fetch(const std::string& url, fetch_limits limits = {}, fetch_kind kind = fetch_kind::page) {
  net::io_context io;
  auto tls = make_client_tls();
  fetch_result out;
  bool called = false;
  fetch_url(io, tls, url, limits, kind, [&](fetch_result r) {
    out = std::move(r);
    called = true;
  });
  io.run();
  BOOST_TEST(called);
  return out;
}

fetch_limits local() {
  fetch_limits limits;
  limits.allow_private = allowed_networks::all_private();
  limits.deadline = 2000ms;
  return limits;
}

} // namespace

BOOST_AUTO_TEST_SUITE(page_fetch_suite)

BOOST_AUTO_TEST_CASE(a_page_and_its_redirects) {
  page_server server;
  auto page = fetch(server.url("/page"), local());
  BOOST_TEST(page.error == "");
  BOOST_TEST(page.content_type == "text/html; charset=utf-8");
  BOOST_TEST(page.body.find("<title>Hello</title>") != std::string::npos);
  auto three = fetch(server.url("/hop2"), local()); // hop2 -> hop1 -> hop0 -> page
  BOOST_TEST(three.error == "");
  BOOST_TEST(three.url == server.url("/page"));
  BOOST_TEST(fetch(server.url("/hop3"), local()).error == "too many redirects");
}

BOOST_AUTO_TEST_CASE(addresses_are_checked_at_every_hop) {
  page_server server;
  // Loopback itself, unless the operator allows private networks.
  BOOST_TEST(fetch(server.url("/page")).error == "refused address: loopback (127/8)");
  BOOST_TEST(fetch("http://[::ffff:127.0.0.1]:1/").error == "refused address: loopback (127/8)");
  BOOST_TEST(fetch("http://localhost:1/").error.starts_with("refused address: loopback"));
  // A redirect is checked like the first hop: to the cloud metadata address,
  // refused even where private networks are allowed.
  BOOST_TEST(fetch(server.url("/metadata"), local()).error ==
             "refused address: link-local (169.254/16, cloud metadata)");
}

BOOST_AUTO_TEST_CASE(only_html_within_the_limits) {
  page_server server;
  BOOST_TEST(fetch(server.url("/json"), local()).error == "not text/html");
  BOOST_TEST(fetch(server.url("/missing"), local()).error == "status 404");
  auto limits = local();
  limits.max_bytes = 64 * 1024;
  auto big = fetch(server.url("/big"), limits);
  BOOST_TEST(big.error == "");
  BOOST_TEST(big.body.size() == limits.max_bytes);
  limits.deadline = 200ms;
  auto started = std::chrono::steady_clock::now();
  BOOST_TEST(fetch(server.url("/slow"), limits).error == "too slow");
  BOOST_TEST((std::chrono::steady_clock::now() - started < 550ms), "the deadline cuts a slow server off");
  for (const char* url : {"ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)",
                          "http://user:pw@example.com/", "not a url"})
    BOOST_TEST(!fetch(url, local()).error.empty(), url);
}

BOOST_AUTO_TEST_CASE(an_image_whole_within_the_limit_and_of_a_type_shown_inline) {
  page_server server;
  auto pic = fetch(server.url("/pic"), local(), fetch_kind::image);
  BOOST_TEST(pic.error == "");
  BOOST_TEST(pic.body.size() == 1000u);
  auto limits = local();
  limits.max_bytes = 999; // one byte short: an image cut off is no image
  BOOST_TEST(fetch(server.url("/pic"), limits, fetch_kind::image).error.starts_with("an image larger than"));
  BOOST_TEST(fetch(server.url("/svg"), local(), fetch_kind::image).error ==
             "not a PNG, JPEG, GIF or WebP image");
  BOOST_TEST(fetch(server.url("/page"), local(), fetch_kind::image).error ==
             "not a PNG, JPEG, GIF or WebP image");
  BOOST_TEST(fetch(server.url("/pic"), local()).error == "not text/html"); // and a page is no image
  BOOST_TEST(fetch(server.url("/pic"), {}, fetch_kind::image).error == "refused address: loopback (127/8)");
}

BOOST_AUTO_TEST_CASE(a_page_image_is_resolved_against_the_page_and_only_http_kept) {
  auto image_of = [](std::string tag) {
    fetch_result page;
    page.url = "https://news.example/a/story?x=1";
    page.content_type = "text/html";
    page.body = "<html><head><meta property=\"og:title\" content=\"T\">" + tag + "</head></html>";
    std::string image;
    BOOST_TEST(preview_of_page(page, &image).has_value());
    return image;
  };
  BOOST_TEST(image_of(R"(<meta property="og:image" content="/img/p.png">)") ==
             "https://news.example/img/p.png");
  BOOST_TEST(image_of(R"(<meta property="og:image" content="p.png">)") == "https://news.example/a/p.png");
  BOOST_TEST(image_of(R"(<meta property="og:image" content="//cdn.example/p.png">)") ==
             "https://cdn.example/p.png");
  BOOST_TEST(image_of(R"(<meta property="og:image" content="http://cdn.example/p.png">)") ==
             "http://cdn.example/p.png");
  for (const char* refused : {R"(<meta property="og:image" content="data:image/png;base64,AAAA">)",
                              R"x(<meta property="og:image" content="javascript:alert(1)">)x",
                              R"(<meta property="og:image" content="file:///etc/passwd">)", ""})
    BOOST_TEST(image_of(refused) == "", refused);
}

BOOST_AUTO_TEST_SUITE_END()

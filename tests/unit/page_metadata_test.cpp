#include "node/fetch/page_metadata.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(page_metadata_suite)

BOOST_AUTO_TEST_CASE(open_graph_first_then_title_and_description) {
  auto page = read_page_metadata(R"(<!doctype html><html><head>
    <title>Plain title</title>
    <meta name="description" content="Plain description">
    <meta property="og:title" content="The &amp; OG   title">
    <meta property="og:description" content='Said &quot;so&quot; &#8212; twice &#x2764;'>
    <meta property="og:site_name" content="Example">
    <meta property="og:image" content="/img/card.png">
    </head><body><meta property="og:title" content="not in the head"></body></html>)");
  BOOST_TEST(page.title == "The & OG title");
  BOOST_TEST(page.description == "Said \"so\" \u2014 twice \u2764");
  BOOST_TEST(page.site == "Example");
  BOOST_TEST(page.image == "/img/card.png");

  auto plain = read_page_metadata(
    "<html><head><TITLE>\n  Only a\ttitle \n</TITLE>"
    "<meta name=Description content=\"and words\"></head></html>");
  BOOST_TEST(plain.title == "Only a title");
  BOOST_TEST(plain.description == "and words");
  BOOST_TEST(plain.site.empty());
}

BOOST_AUTO_TEST_CASE(scripts_comments_and_the_body_hide_nothing_they_should_not) {
  auto page = read_page_metadata(
    "<head><!-- <title>commented</title> -->"
    "<script>var s = '<title>in script</title>';</script>"
    "<title>real</title></head><body><title>late</title>");
  BOOST_TEST(page.title == "real");
  BOOST_TEST(read_page_metadata("<body><title>after body</title>").title.empty());
}

BOOST_AUTO_TEST_CASE(the_charset_is_honoured_header_first) {
  // "Café" in ISO-8859-1, named by the page, then overridden by the header.
  std::string latin1 = "<head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head>";
  BOOST_TEST(read_page_metadata(latin1).title == "Caf\u00e9");
  BOOST_TEST(read_page_metadata(latin1, "text/html; charset=windows-1252").title == "Caf\u00e9");
  std::string http_equiv =
    "<head><meta http-equiv=\"Content-Type\" content=\"text/html; "
    "charset=koi8-r\"><title>\xf0\xd2\xc9</title>";
  BOOST_TEST(read_page_metadata(http_equiv).title == "\u041f\u0440\u0438");
  BOOST_TEST(charset_of("text/html; charset=\"UTF-8\"") == "UTF-8");
  BOOST_TEST(charset_of("text/html").empty());
  // An unknown charset: the bytes as UTF-8, invalid ones dropped.
  BOOST_TEST(read_page_metadata("<title>ok\xff</title>", "text/html; charset=no-such").title == "ok");
}

BOOST_AUTO_TEST_CASE(fields_are_cut_and_cleaned) {
  std::string long_title = "<title>" + std::string(5000, 'x') + "</title>";
  auto title = read_page_metadata(long_title).title;
  BOOST_TEST(title.size() == max_preview_title + std::string{"\u2026"}.size());
  BOOST_TEST(read_page_metadata("<title>a\x01\x02 b&#0;c&#xD800;</title>").title == "a b\ufffdc\ufffd");
  BOOST_TEST(read_page_metadata("<title>&unknown; &amp</title>").title == "&unknown; &amp");
  BOOST_TEST(
    read_page_metadata("<meta property=og:image content=\"" + std::string(3000, 'a') + "\">").image.empty());
}

BOOST_AUTO_TEST_CASE(broken_pages_give_what_they_can) {
  BOOST_TEST(read_page_metadata("").empty());
  BOOST_TEST(read_page_metadata("<title>never closed").empty());
  BOOST_TEST(read_page_metadata("<meta content=\"unterminated").empty());
  BOOST_TEST(read_page_metadata("<<<<<<>>>>").empty());
  BOOST_TEST(read_page_metadata("<meta property=\"og:title\" content=\"kept\"><title").title == "kept");
}

BOOST_AUTO_TEST_SUITE_END()

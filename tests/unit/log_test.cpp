#include "node/process/log.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(log_lines)

BOOST_AUTO_TEST_CASE(text_lines_quote_what_would_split_them) {
  log::set_json(false);
  auto line = log::format_line(log::level::warn, "2026-11-28T07:10:00.123Z", "redis_lost",
                               {{"link", "commands"}, {"reason", "connection \"reset\" by peer"}});
  BOOST_TEST(
    line ==
    "2026-11-28T07:10:00.123Z WARN redis_lost link=commands reason=\"connection \\\"reset\\\" by peer\"");
}

BOOST_AUTO_TEST_CASE(json_lines_are_one_object_each) {
  log::set_json(true);
  auto line =
    log::format_line(log::level::info, "2026-11-28T07:10:00.123Z", "upgrade_refused",
                     {{"reason", "origin not allowed"}, {"origin", "http://a\nb"}, {"bad", "\xff"}});
  log::set_json(false);
  BOOST_TEST(line.find('\n') == std::string::npos, line);
  auto parsed = nlohmann::json::parse(line);
  BOOST_TEST(parsed["time"] == "2026-11-28T07:10:00.123Z");
  BOOST_TEST(parsed["level"] == "info");
  BOOST_TEST(parsed["event"] == "upgrade_refused");
  BOOST_TEST(parsed["origin"] == "http://a\nb");
  BOOST_TEST(parsed["bad"] == "\xef\xbf\xbd"); // not UTF-8: replaced, the line kept
  BOOST_TEST(line.rfind("{\"time\"", 0) == 0u, "time comes first: " << line);
}

BOOST_AUTO_TEST_SUITE_END()

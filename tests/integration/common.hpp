// Helpers shared by the integration test executables (Boost.Test).
#pragma once

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "node_process.hpp"
#include "test_util.hpp"
#include "ws_client.hpp"

namespace chatnode::testing {

using namespace std::chrono_literals;

inline bool current_test_failed() {
  namespace ut = boost::unit_test;
  return !ut::results_collector.results(ut::framework::current_test_case().p_id).passed();
}

// One node per test case (or per suite when used as a suite fixture). When the test
// failed, the node's stderr goes to the test log.
struct node_fixture {
  node_process node;
  explicit node_fixture(node_options opts = {})
    : node(std::move(opts)) {}
  ~node_fixture() {
    // Every node must stop cleanly, and a sanitizer build must not have reported anything.
    if (node.running()) {
      auto status = node.stop(after(15s));
      BOOST_TEST((status && *status == 0),
                 "node did not exit 0 on SIGTERM at the end of the test: status "
                   << (status ? std::to_string(*status) : std::string("none (killed)")));
    }
    const std::string err = node.stderr_text();
    for (const char* report :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"})
      BOOST_TEST(err.find(report) == std::string::npos, "sanitizer report in stderr: " << report);
    if (current_test_failed()) {
      node.keep_logs();
      BOOST_TEST_MESSAGE("chatnode stderr (" << node.stderr_path() << "), tail:\n" << node.stderr_tail());
    }
  }
  node_fixture(const node_fixture&) = delete;
  node_fixture& operator=(const node_fixture&) = delete;
};

inline http_response get(const node_process& node, const std::string& target) {
  return http_get(node.host(), node.port(), target);
}

inline std::string metrics_text(const node_process& node) {
  auto r = get(node, "/metrics");
  BOOST_REQUIRE_MESSAGE(r.status == 200, "/metrics status " << r.status << " " << r.error);
  return r.body;
}

inline double metric_or_zero(const std::string& text, const std::string& series) {
  return metric_value(text, series).value_or(0.0);
}

// Connects, requires the upgrade to succeed and the first event to be `welcome`.
inline ws_client open_client(const node_process& node, connect_options opts = {}) {
  ws_client c;
  int status = c.connect(node.host(), node.port(), opts);
  BOOST_REQUIRE_MESSAGE(status == 101, "upgrade status " << status << ": " << c.last_error());
  auto welcome = c.next_event(after(5s));
  BOOST_REQUIRE_MESSAGE(welcome.has_value(), "no welcome within 5 s");
  BOOST_REQUIRE_MESSAGE(str(*welcome, "type") == "welcome", "first event: " << welcome->dump());
  return c;
}

// Sends join and returns the `joined` reply (other events stay queued).
inline json join(ws_client& c, const std::string& room, const std::string& name,
                 std::optional<std::string> since = {}) {
  json req{{"type", "join"}, {"room", room}, {"name", name}};
  if (since)
    req["since"] = *since;
  BOOST_REQUIRE_MESSAGE(c.send_json(req), "join send failed: " << c.last_error());
  auto joined = c.wait_for(is_type_in_room("joined", room), after(5s));
  BOOST_REQUIRE_MESSAGE(joined.has_value(), "no joined for room " << room << " within 5 s");
  return *joined;
}

// Sends a message with a cid and waits for its echo.
inline json send_and_ack(ws_client& c, const std::string& room, const std::string& text,
                         const std::string& cid) {
  BOOST_REQUIRE(c.send_json({{"type", "send"}, {"room", room}, {"text", text}, {"cid", cid}}));
  auto ack = c.wait_for(is_message_with_cid(cid), after(5s));
  BOOST_REQUIRE_MESSAGE(ack.has_value(), "no echo for cid " << cid << " within 5 s");
  return *ack;
}

// Polls `cond` every 10 ms until it holds or the deadline passes.
template <class Cond>
bool eventually(Cond cond, time_point deadline) {
  for (;;) {
    if (cond())
      return true;
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
}

} // namespace chatnode::testing

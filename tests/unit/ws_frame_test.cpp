#include "node/edge/ws_frame.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace chatnode;

namespace {

/// A client's frame: masked with a fixed key.
std::string client_frame(unsigned op, const std::string& payload, bool fin = true, unsigned rsv = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | rsv | op);
  auto n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (auto k : key)
    f += static_cast<char>(k);
  for (std::size_t i = 0; i < n; ++i)
    f += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]);
  return f;
}

struct collected {
  std::vector<std::pair<ws::opcode, std::string>> got;
  std::size_t stop_after = static_cast<std::size_t>(-1);
};

std::size_t feed(ws::frame_reader& r, const std::string& bytes, collected& c) {
  return r.feed(bytes.data(), bytes.size(), [&](ws::opcode op, std::string& payload) {
    c.got.emplace_back(op, std::move(payload));
    return c.got.size() < c.stop_after;
  });
}

ws::frame_reader reader() {
  return ws::frame_reader{1024};
}

} // namespace

BOOST_AUTO_TEST_SUITE(ws_frame)

BOOST_AUTO_TEST_CASE(accept_key_matches_rfc_6455_example) {
  BOOST_TEST(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(server_headers_use_the_shortest_length_form) {
  unsigned char h[ws::max_header_bytes];
  BOOST_TEST(ws::write_header(h, ws::opcode::text, 0) == 2u);
  BOOST_TEST(h[0] == 0x81);
  BOOST_TEST(ws::write_header(h, ws::opcode::text, 125) == 2u);
  BOOST_TEST(h[1] == 125);
  BOOST_TEST(ws::write_header(h, ws::opcode::text, 126) == 4u);
  BOOST_TEST((h[1] == 126 && h[2] == 0 && h[3] == 126));
  BOOST_TEST(ws::write_header(h, ws::opcode::ping, 65535) == 4u);
  BOOST_TEST(h[0] == 0x89);
  BOOST_TEST(ws::write_header(h, ws::opcode::binary, 65536) == 10u);
  BOOST_TEST((h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0));
}

BOOST_AUTO_TEST_CASE(a_text_frame_arrives_whole_or_byte_by_byte) {
  auto bytes = client_frame(1, "hello") + client_frame(1, std::string(300, 'x'));
  auto whole = reader();
  collected a;
  BOOST_TEST(feed(whole, bytes, a) == bytes.size());
  auto bit = reader();
  collected b;
  for (char ch : bytes)
    BOOST_TEST(feed(bit, std::string(1, ch), b) == 1u);
  for (auto* c : {&a, &b}) {
    BOOST_REQUIRE(c->got.size() == 2u);
    BOOST_TEST((c->got[0].first == ws::opcode::text && c->got[0].second == "hello"));
    BOOST_TEST(c->got[1].second == std::string(300, 'x'));
  }
  BOOST_TEST(whole.between_messages());
  BOOST_TEST(bit.between_messages());
}

BOOST_AUTO_TEST_CASE(fragments_join_and_control_frames_come_between) {
  // A character split across two fragments is still valid UTF-8.
  auto bytes = client_frame(1, "caf\xc3", false) + client_frame(9, "are you there") +
               client_frame(0, "\xa9 ", false) + client_frame(0, "ok");
  auto r = reader();
  collected c;
  feed(r, bytes, c);
  BOOST_TEST(!r.failed());
  BOOST_REQUIRE(c.got.size() == 2u);
  BOOST_TEST((c.got[0].first == ws::opcode::ping && c.got[0].second == "are you there"));
  BOOST_TEST((c.got[1].first == ws::opcode::text && c.got[1].second == "caf\xc3\xa9 ok"));
}

BOOST_AUTO_TEST_CASE(a_paused_reader_stops_after_the_message_and_takes_the_rest_later) {
  auto bytes = client_frame(1, "one") + client_frame(1, "two") + client_frame(2, "three");
  auto r = reader();
  collected c;
  c.stop_after = 1;
  auto used = feed(r, bytes, c);
  BOOST_TEST(used == client_frame(1, "one").size());
  BOOST_TEST(r.between_messages());
  c.stop_after = 100;
  BOOST_TEST(feed(r, bytes.substr(used), c) == bytes.size() - used);
  BOOST_REQUIRE(c.got.size() == 3u);
  BOOST_TEST(c.got[1].second == "two");
  BOOST_TEST((c.got[2].first == ws::opcode::binary && c.got[2].second == "three"));
}

BOOST_AUTO_TEST_CASE(protocol_violations_fail_with_1002) {
  std::string unmasked = "\x81\x02hi";
  std::vector<std::string> cases = {
    unmasked,
    client_frame(1, "x", true, 0x40),                   // RSV1 without an extension
    client_frame(3, "x"),                               // reserved data opcode
    client_frame(11, "x"),                              // reserved control opcode
    client_frame(9, std::string(126, 'p')),             // control frame too long
    client_frame(9, "p", false),                        // fragmented control frame
    client_frame(0, "x"),                               // continuation of nothing
    client_frame(1, "a", false) + client_frame(1, "b"), // a new message inside one
    client_frame(8, "\x03"),                            // one-byte close payload
    client_frame(8, std::string("\x03\xed", 2)),        // 1005 may not be sent
  };
  for (const auto& bytes : cases) {
    auto r = reader();
    collected c;
    feed(r, bytes, c);
    BOOST_TEST(r.failed());
    BOOST_TEST(r.failure_code() == close_code::protocol_error);
    BOOST_TEST(c.got.empty());
  }
}

BOOST_AUTO_TEST_CASE(lengths_not_in_their_shortest_form_fail_with_1002) {
  // RFC 6455, 5.2: the minimal number of bytes must encode the length.
  auto key_and_payload = [](const std::string& frame, std::size_t header) { return frame.substr(header); };
  std::string sixteen = "\x82\xfe" + std::string("\x00\x03", 2) + key_and_payload(client_frame(2, "abc"), 2);
  std::string sixty_four =
    "\x82\xff" + std::string(7, '\0') + "\xc8" + key_and_payload(client_frame(2, std::string(200, 'x')), 4);
  for (const auto& bytes : {sixteen, sixty_four}) {
    auto r = reader();
    collected c;
    feed(r, bytes, c);
    BOOST_TEST(r.failure_code() == close_code::protocol_error);
    BOOST_TEST(c.got.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_message_over_the_limit_fails_with_1009_before_its_payload_arrives) {
  auto big = client_frame(1, std::string(2000, 'x'));
  auto r = reader();
  collected c;
  feed(r, big.substr(0, 8), c); // the header only
  BOOST_TEST(r.failure_code() == close_code::too_big);
  // Fragments that add up to too much fail the same way.
  auto pieces = client_frame(1, std::string(600, 'x'), false) + client_frame(0, std::string(600, 'x'));
  auto r2 = reader();
  feed(r2, pieces, c);
  BOOST_TEST(r2.failure_code() == close_code::too_big);
  BOOST_TEST(c.got.empty());
}

BOOST_AUTO_TEST_CASE(a_big_announced_frame_holds_only_what_has_arrived) {
  // A peer that announces 60,000 bytes and sends ten must not make the
  // node hold 60,000.
  ws::frame_reader r{65536};
  collected c;
  auto frame = client_frame(1, std::string(60000, 'x'));
  auto header = 2 + 2 + 4;
  feed(r, frame.substr(0, header + 10), c);
  BOOST_TEST(!r.failed());
  BOOST_TEST(r.held_bytes() < 1024u);
  feed(r, frame.substr(header + 10), c);
  BOOST_REQUIRE(c.got.size() == 1u);
  BOOST_TEST(c.got[0].second.size() == 60000u);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_text_and_close_reasons_fail_with_1007) {
  for (auto bytes : {client_frame(1, "\xff"), client_frame(1, "a\xc3", false) + client_frame(0, "("),
                     client_frame(8, std::string("\x03\xe8\xc0\x80", 4))}) {
    auto r = reader();
    collected c;
    feed(r, bytes, c);
    BOOST_TEST(r.failure_code() == close_code::invalid_payload);
  }
  // Binary messages are not text.
  auto r = reader();
  collected c;
  feed(r, client_frame(2, "\xff\xfe"), c);
  BOOST_TEST(!r.failed());
  BOOST_TEST(c.got.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_close_payload_gives_its_code) {
  BOOST_TEST(ws::close_code_of(std::string("\x03\xe9") + "bye") == 1001);
  BOOST_TEST(ws::close_code_of("") == 1000); // a close frame without a code
}

BOOST_AUTO_TEST_CASE(a_close_frame_hands_on_its_code_and_reason) {
  auto r = reader();
  collected c;
  feed(r, client_frame(8, std::string("\x03\xe8") + "bye") + client_frame(8, ""), c);
  BOOST_REQUIRE(c.got.size() == 2u);
  BOOST_TEST((c.got[0].first == ws::opcode::close && c.got[0].second == std::string("\x03\xe8") + "bye"));
  BOOST_TEST(c.got[1].second.empty());
}

BOOST_AUTO_TEST_CASE(utf8_checks_follow_rfc_3629) {
  BOOST_TEST(ws::valid_utf8("plain"));
  BOOST_TEST(ws::valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")); // é € 😀
  BOOST_TEST(ws::valid_utf8("\xf4\x8f\xbf\xbf"));                     // U+10FFFF
  BOOST_TEST(!ws::valid_utf8("\xc0\x80"));                            // overlong
  BOOST_TEST(!ws::valid_utf8("\xe0\x80\x80"));                        // overlong
  BOOST_TEST(!ws::valid_utf8("\xf0\x80\x80\x80"));                    // overlong
  BOOST_TEST(!ws::valid_utf8("\xed\xa0\x80"));                        // a surrogate
  BOOST_TEST(!ws::valid_utf8("\xf4\x90\x80\x80"));                    // above U+10FFFF
  BOOST_TEST(!ws::valid_utf8("\xe2\x82"));                            // cut short
  BOOST_TEST(!ws::valid_utf8("\x80"));                                // a lone continuation
}

BOOST_AUTO_TEST_CASE(close_payloads_fit_a_control_frame_and_end_on_a_character) {
  auto p = ws::close_payload(1001, "server shutting down");
  BOOST_TEST(p == std::string("\x03\xe9") + "server shutting down");
  std::string reason(122, 'a');
  reason += "\xc3\xa9"; // 124 bytes, the last character over the 123 allowed
  auto cut = ws::close_payload(1000, reason);
  BOOST_TEST(cut.size() == 2u + 122u);
  BOOST_TEST(ws::valid_utf8(cut.substr(2)));
}

BOOST_AUTO_TEST_SUITE_END()

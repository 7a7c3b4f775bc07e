#include "node/frame_buffer.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>

using chatnode::frame_buffer;

BOOST_AUTO_TEST_SUITE(frame_buffer_sizes)

BOOST_AUTO_TEST_CASE(an_empty_buffer_asks_for_little_and_a_begun_message_for_all_it_needs) {
  frame_buffer b;
  // What Beast prepares before it waits: max_size() - size(), up to 1,536.
  BOOST_TEST(b.max_size() == frame_buffer::idle_bytes);
  auto first = b.prepare(b.max_size() - b.size());
  BOOST_TEST(boost::asio::buffer_size(first) == frame_buffer::idle_bytes);
  std::string text(1000, 'x');
  std::memcpy(first.data(), text.data(), frame_buffer::idle_bytes);
  b.commit(frame_buffer::idle_bytes);
  // Begun: the rest of a large message fits.
  BOOST_TEST(b.max_size() > 1000u);
  auto rest = b.prepare(text.size() - frame_buffer::idle_bytes);
  std::memcpy(rest.data(), text.data() + frame_buffer::idle_bytes, text.size() - frame_buffer::idle_bytes);
  b.commit(text.size() - frame_buffer::idle_bytes);
  auto data = b.data();
  BOOST_TEST(std::string(static_cast<const char*>(data.data()), data.size()) == text);

  b.release(); // after the message: back to the idle allotment
  BOOST_TEST(b.size() == 0u);
  BOOST_TEST(b.capacity() <= frame_buffer::idle_bytes);
  BOOST_TEST(b.max_size() == frame_buffer::idle_bytes);
}

BOOST_AUTO_TEST_SUITE_END()

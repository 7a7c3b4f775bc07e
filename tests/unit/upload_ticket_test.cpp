#include "actors/contracts/upload_ticket.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

namespace {

const std::string secret(32, 'k');

upload_ticket sample() {
  return {new_file_id(), "ann", "general", "report \"Q3\".pdf", 12345, "application/pdf", 1000};
}

} // namespace

BOOST_AUTO_TEST_SUITE(upload_tickets)

BOOST_AUTO_TEST_CASE(a_sealed_ticket_opens_to_what_was_granted) {
  auto t = sample();
  auto sealed = seal_ticket(t, secret);
  BOOST_TEST(sealed.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
             std::string::npos); // a path segment as it is
  auto opened = open_ticket(sealed, secret, 999);
  BOOST_REQUIRE(opened);
  BOOST_TEST(opened->file == t.file);
  BOOST_TEST(opened->user == "ann");
  BOOST_TEST(opened->room == "general");
  BOOST_TEST(opened->name == t.name);
  BOOST_TEST(opened->size == 12345u);
  BOOST_TEST(opened->mime == "application/pdf");
}

BOOST_AUTO_TEST_CASE(expired_forged_or_mangled_tickets_open_to_nothing) {
  auto sealed = seal_ticket(sample(), secret);
  BOOST_TEST(!open_ticket(sealed, secret, 1000)); // expires at 1000
  BOOST_TEST(!open_ticket(sealed, std::string(32, 'x'), 999));
  auto tampered = sealed;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  BOOST_TEST(!open_ticket(tampered, secret, 999));
  BOOST_TEST(!open_ticket(sealed.substr(0, sealed.find('.')), secret, 999));
  BOOST_TEST(!open_ticket("", secret, 999));
  BOOST_TEST(!open_ticket(".", secret, 999));
  BOOST_TEST(!open_ticket(std::string(5000, 'a') + ".b", secret, 999));
}

BOOST_AUTO_TEST_CASE(file_ids_are_128_random_bits) {
  auto a = new_file_id(), b = new_file_id();
  BOOST_TEST(a.size() == 22u);
  BOOST_TEST(a != b);
  BOOST_TEST(valid_file_id(a));
  BOOST_TEST(!valid_file_id(a.substr(1)));
  BOOST_TEST(!valid_file_id("../../../etc/passwdxxxx"));
  BOOST_TEST(!valid_file_id("AAAAAAAAAAAAAAAAAAAAA/"));
}

BOOST_AUTO_TEST_CASE(a_preview_image_path_names_its_file) {
  auto id = new_file_id();
  BOOST_TEST(preview_image_path(id, "image/jpeg") == "/files/" + id + "/preview.jpg");
  BOOST_TEST(preview_image_path(id, "image/png") == "/files/" + id + "/preview.png");
  BOOST_TEST(file_of_preview_image(preview_image_path(id, "image/png")) == id);
  for (const char* other : {"", "/files/", "https://example.com/files/x/y.jpg", "/files/thumb/abc",
                            "/files/../../etc/passwd/x", "/files/AAAAAAAAAAAAAAAAAAAAA/x"})
    BOOST_TEST(file_of_preview_image(other) == "", other);
}

BOOST_AUTO_TEST_SUITE_END()

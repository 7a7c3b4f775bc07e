// Runs one piece of the node's Web Push cryptography from the command line,
// for tests that check it with independent implementations (npm's http_ece
// and jose):
//   push_tool encrypt P256DH AUTH    plaintext on stdin; the body, base64url, on stdout
//   push_tool vapid AUD SUB EXP [PEM_FILE]
//                                    a VAPID Authorization header for AUD (a new key,
//                                    or the one in PEM_FILE), as JSON with the key
#include "node/push/web_push_crypto.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

using namespace chatnode::push;

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "encrypt" && argc == 4) {
    std::string plaintext{std::istreambuf_iterator<char>{std::cin}, {}};
    auto out = encrypt(plaintext, {argv[2], argv[3]});
    if (!out.error.empty()) {
      std::cerr << out.error << "\n";
      return 2;
    }
    std::cout << base64url_encode(out.body) << "\n";
    return 0;
  }
  if (command == "vapid" && (argc == 5 || argc == 6)) {
    std::optional<vapid_key> key = vapid_key::generate();
    if (argc == 6) {
      std::ifstream in{argv[5]};
      key = vapid_key::from_pem(std::string{std::istreambuf_iterator<char>{in}, {}});
      if (!key) {
        std::cerr << "not a P-256 private key\n";
        return 2;
      }
    }
    std::cout << nlohmann::json{{"authorization", key->authorization(argv[2], argv[3], std::stoll(argv[4]))},
                                {"public_key", key->public_key()},
                                {"pem", key->to_pem()}}
                   .dump()
              << "\n";
    return 0;
  }
  std::cerr << "usage: push_tool encrypt P256DH AUTH < plaintext | push_tool vapid AUD SUB EXP [PEM_FILE]\n";
  return 2;
}

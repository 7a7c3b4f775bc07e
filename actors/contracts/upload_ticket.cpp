#include "actors/contracts/upload_ticket.hpp"

#include "actors/contracts/signing.hpp"

#include <nlohmann/json.hpp>

namespace chatnode {

std::string new_file_id() {
  return base64url(random_bytes(16));
}

bool valid_file_id(std::string_view id) {
  if (id.size() != 22)
    return false;
  auto bytes = from_base64url(id);
  return bytes && bytes->size() == 16;
}

std::string preview_image_path(std::string_view file, std::string_view mime) {
  return "/files/" + std::string{file} + (mime == "image/png" ? "/preview.png" : "/preview.jpg");
}

std::string file_of_preview_image(std::string_view path) {
  constexpr std::string_view prefix = "/files/";
  if (!path.starts_with(prefix))
    return {};
  path.remove_prefix(prefix.size());
  auto id = path.substr(0, path.find('/'));
  return valid_file_id(id) ? std::string{id} : std::string{};
}

std::string seal_ticket(const upload_ticket& t, std::string_view secret) {
  nlohmann::json body{{"f", t.file}, {"u", t.user}, {"r", t.room},   {"n", t.name},
                      {"s", t.size}, {"m", t.mime}, {"e", t.expires}};
  auto payload = base64url(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return payload + "." + base64url(hmac_sha256(secret, payload));
}

std::optional<upload_ticket> open_ticket(std::string_view sealed, std::string_view secret, std::int64_t now) {
  if (sealed.size() > max_ticket_chars)
    return std::nullopt;
  auto dot = sealed.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto payload = sealed.substr(0, dot);
  auto mac = from_base64url(sealed.substr(dot + 1));
  // The signature first: nothing of an unsigned ticket is parsed.
  if (!mac || !same_bytes(*mac, hmac_sha256(secret, payload)))
    return std::nullopt;
  auto body = from_base64url(payload);
  if (!body)
    return std::nullopt;
  auto doc = nlohmann::json::parse(*body, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  // Each field of its exact JSON type: a number of another kind (1e22) is
  // no ticket, not a conversion.
  auto text = [&doc](const char* key, std::string& out) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string())
      return false;
    out = it->get<std::string>();
    return true;
  };
  upload_ticket t;
  auto size = doc.find("s");
  auto expires = doc.find("e");
  if (!text("f", t.file) || !text("u", t.user) || !text("r", t.room) || !text("n", t.name) ||
      !text("m", t.mime) || size == doc.end() || !size->is_number_unsigned() || expires == doc.end() ||
      !expires->is_number_integer())
    return std::nullopt;
  t.size = size->get<std::uint64_t>();
  t.expires = expires->get<std::int64_t>();
  if (!valid_file_id(t.file) || t.expires <= now)
    return std::nullopt;
  return t;
}

} // namespace chatnode

#include "node/files/file_store.hpp"

#include <nlohmann/json.hpp>

namespace chatnode {

std::string describe_as_json(const stored_file& d) {
  nlohmann::json doc{{"id", d.id},
                     {"user", d.user},
                     {"room", d.room},
                     {"name", d.name},
                     {"mime", d.mime},
                     {"size", d.size},
                     {"sha256", d.sha256},
                     {"created", d.created},
                     {"width", d.width},
                     {"height", d.height},
                     {"thumb_mime", d.thumb_mime},
                     {"thumb_size", d.thumb_size},
                     {"sent", d.sent}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<stored_file> description_from_json(std::string_view text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  // Read by exact JSON types: a store shared by several nodes is outside input too.
  auto string_field = [&doc](const char* key, std::string& out) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string())
      return false;
    out = it->get<std::string>();
    return true;
  };
  stored_file d;
  auto size = doc.find("size");
  auto created = doc.find("created");
  if (!string_field("id", d.id) || !string_field("user", d.user) || !string_field("room", d.room) ||
      !string_field("name", d.name) || !string_field("mime", d.mime) || !string_field("sha256", d.sha256) ||
      size == doc.end() || !size->is_number_unsigned() || created == doc.end() ||
      !created->is_number_integer())
    return std::nullopt;
  d.size = size->get<std::uint64_t>();
  d.created = created->get<std::int64_t>();
  // An image's facts, when known.
  auto width = doc.find("width");
  auto height = doc.find("height");
  if (width != doc.end() && width->is_number_unsigned() && height != doc.end() &&
      height->is_number_unsigned() && width->get<std::uint64_t>() < (1u << 20) &&
      height->get<std::uint64_t>() < (1u << 20)) {
    d.width = static_cast<int>(width->get<std::uint64_t>());
    d.height = static_cast<int>(height->get<std::uint64_t>());
  }
  string_field("thumb_mime", d.thumb_mime);
  if (auto thumb_size = doc.find("thumb_size"); thumb_size != doc.end() && thumb_size->is_number_unsigned())
    d.thumb_size = thumb_size->get<std::uint64_t>();
  if (auto sent = doc.find("sent"); sent != doc.end() && sent->is_boolean())
    d.sent = sent->get<bool>();
  return d;
}

} // namespace chatnode

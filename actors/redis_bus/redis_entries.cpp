#include "actors/redis_bus/redis_entries.hpp"

#include "actors/wire/protocol.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace chatnode::bridge {

namespace {

/// An entry's fields, by the one-letter names store.lua gives them.
struct entry_fields {
  message_id id;
  std::string_view kind; ///< empty for a message
  std::string_view target, user, text, cid, emoji, on, count, action, by, number;
  std::string_view reply_to, thread, replies, last_reply; ///< (1.2) see thread_helpers.lua
  std::string_view files;                                 ///< (1.2) see files_field
  std::string_view preview;                               ///< (1.2) see preview_field
  bool bot = false;                                       ///< (1.2) B: posted by a bot
  std::string_view display;                               ///< (1.2) N: the author's shown name
};

entry_fields read_fields(const redis_reply& entry) {
  entry_fields out;
  if (entry.elements.size() < 2)
    return out;
  out.id = message_id::parse(entry.elements[0].str).value_or(message_id{});
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const auto& name = fields[i].str;
    std::string_view value = fields[i + 1].str;
    if (name.size() != 1)
      continue;
    switch (name[0]) {
      case 'k': out.kind = value; break;
      case 'g': out.target = value; break;
      case 'u': out.user = value; break;
      case 't': out.text = value; break;
      case 'c': out.cid = value; break;
      case 'j': out.emoji = value; break;
      case 'o': out.on = value; break;
      case 'x': out.count = value; break;
      case 'a': out.action = value; break;
      case 'b': out.by = value; break;
      case 'n': out.number = value; break;
      case 'y': out.reply_to = value; break;
      case 'h': out.thread = value; break;
      case 'w': out.replies = value; break;
      case 'l': out.last_reply = value; break;
      case 'f': out.files = value; break;
      case 'p': out.preview = value; break;
      case 'B': out.bot = value == "1"; break;
      case 'N': out.display = value; break;
    }
  }
  return out;
}

chat_message as_message(const std::string& room, const entry_fields& f) {
  return {room,
          f.id,
          std::string{f.user},
          std::string{f.text},
          static_cast<std::int64_t>(f.id.ms),
          std::string{f.cid},
          message_id::parse(f.reply_to),
          message_id::parse(f.thread),
          files_of_field(f.files),
          f.bot,
          std::string{f.display}};
}

/// A number field; nullopt when absent or empty.
std::optional<std::int64_t> number_field(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{})
    return std::nullopt;
  return n;
}

void read_files(const nlohmann::json& doc, std::vector<shared_file>& files) {
  for (const auto& f : doc) {
    if (!f.is_object() || !f.contains("i") || !f["i"].is_string())
      continue;
    shared_file file;
    file.file = f["i"].get<std::string>();
    file.name = f.value("n", std::string{});
    file.mime = f.value("m", std::string{});
    file.size = f.value("s", std::uint64_t{0});
    file.width = f.value("w", 0);
    file.height = f.value("h", 0);
    file.thumb = f.value("t", false);
    files.push_back(std::move(file));
  }
}

/// (1.2) A preview as an object: u url, t title, d description, s site, i image.
std::optional<link_preview> preview_of(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("u") || !doc["u"].is_string())
    return std::nullopt;
  auto text = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  return link_preview{text("u"), text("t"), text("d"), text("s"), text("i")};
}

/// A delete of a thread's message: its root's count and newest reply after it.
void add_thread_state(message_change& change, const entry_fields& f) {
  change.thread = message_id::parse(f.thread);
  change.replies = static_cast<std::size_t>(std::max<std::int64_t>(number_field(f.replies).value_or(0), 0));
  change.last_reply = number_field(f.last_reply);
}

} // namespace

std::uint64_t entry_number(const redis_reply& entry) {
  auto f = read_fields(entry);
  std::uint64_t n = 0;
  std::from_chars(f.number.data(), f.number.data() + f.number.size(), n);
  return n;
}

bool is_change(const redis_reply& entry) {
  return !read_fields(entry).kind.empty();
}

stored_message entry_event(const std::string& room, const redis_reply& entry) {
  auto f = read_fields(entry);
  if (f.kind.empty())
    return {f.id, make_frame(encode_message(as_message(room, f)))};
  if (f.kind == "o") {
    moderation_event event{room,
                           f.id,
                           moderation_action_named(f.action).value_or(moderation_action::kick),
                           std::string{f.user},
                           std::string{f.by},
                           std::nullopt};
    std::int64_t until = 0;
    if (std::from_chars(f.count.data(), f.count.data() + f.count.size(), until).ec == std::errc{} &&
        !f.count.empty())
      event.until = until;
    return {f.id, make_frame(encode_moderation(event))};
  }
  message_change change;
  change.kind = f.kind == "d"   ? change_kind::remove
                : f.kind == "r" ? change_kind::reaction
                : f.kind == "p" ? change_kind::preview
                                : change_kind::edit;
  change.room = room;
  change.id = f.id;
  change.target = message_id::parse(f.target).value_or(message_id{});
  change.user = f.user;
  change.text = f.text;
  change.ts = static_cast<std::int64_t>(f.id.ms);
  change.emoji = f.emoji;
  change.on = f.on == "1";
  std::from_chars(f.count.data(), f.count.data() + f.count.size(), change.count);
  change.cid = f.cid;
  if (change.kind == change_kind::remove)
    add_thread_state(change, f);
  if (change.kind == change_kind::preview)
    change.preview = preview_of_field(f.preview).value_or(link_preview{});
  return {f.id, make_frame(encode_change(change))};
}

stored_message entry_now(const std::string& room, const redis_reply& entry, std::string_view state_json) {
  auto f = read_fields(entry);
  auto msg = as_message(room, f);
  auto state = parse_state(state_json, msg.text);
  return {f.id, make_frame(encode_current_message(msg, state))};
}

std::string files_field(const std::vector<shared_file>& files) {
  if (files.empty())
    return {};
  auto out = nlohmann::json::array();
  for (const auto& f : files)
    out.push_back({{"i", f.file},
                   {"n", f.name},
                   {"m", f.mime},
                   {"s", f.size},
                   {"w", f.width},
                   {"h", f.height},
                   {"t", f.thumb}});
  return out.dump();
}

std::string preview_field(const link_preview& preview) {
  nlohmann::json doc{
    {"u", preview.url}, {"t", preview.title}, {"d", preview.description}, {"s", preview.site}};
  if (!preview.image.empty())
    doc["i"] = preview.image;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<link_preview> preview_of_field(std::string_view field) {
  auto doc = nlohmann::json::parse(field, nullptr, false);
  return doc.is_discarded() ? std::nullopt : preview_of(doc);
}

std::vector<shared_file> files_of_field(std::string_view field) {
  std::vector<shared_file> files;
  if (field.empty())
    return files;
  auto doc = nlohmann::json::parse(field, nullptr, false);
  if (!doc.is_array())
    return files;
  try { // a field of another shape reads as no files
    read_files(doc, files);
  } catch (const nlohmann::json::exception&) {
    files.clear();
  }
  return files;
}

message_state parse_state(std::string_view state_json, std::string& text) {
  message_state state;
  if (state_json.empty())
    return state;
  auto doc = nlohmann::json::parse(state_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return state;
  // A root: its thread's messages not deleted, and the ts of the newest (a
  // deleted root keeps them).
  if (auto h = doc.find("h"); h != doc.end() && h->is_number())
    state.replies = static_cast<std::size_t>(std::max<std::int64_t>(h->get<std::int64_t>(), 0));
  if (auto l = doc.find("l"); state.replies && l != doc.end() && l->is_string())
    state.last_reply = number_field(l->get<std::string>());
  if (doc.contains("d")) {
    state.deleted = true;
    text.clear();
    return state;
  }
  if (auto e = doc.find("e"); e != doc.end() && e->is_string()) {
    std::int64_t ts = 0;
    const auto& s = e->get_ref<const std::string&>();
    std::from_chars(s.data(), s.data() + s.size(), ts);
    state.edited = ts;
    if (auto t = doc.find("t"); t != doc.end() && t->is_string())
      text = t->get<std::string>();
  }
  if (auto p = doc.find("p"); p != doc.end())
    state.preview = preview_of(*p);
  // An empty list is encoded as {} by Redis's Lua JSON: only arrays hold reactions.
  if (auto r = doc.find("r"); r != doc.end() && r->is_array()) {
    for (const auto& pair : *r) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_array())
        continue;
      std::vector<std::string> users;
      for (const auto& u : pair[1])
        if (u.is_string())
          users.push_back(u.get<std::string>());
      if (!users.empty())
        state.reactions.emplace_back(pair[0].get<std::string>(), std::move(users));
    }
  }
  return state;
}

} // namespace chatnode::bridge

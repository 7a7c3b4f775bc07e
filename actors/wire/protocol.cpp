#include "actors/wire/protocol.hpp"

#include "actors/contracts/upload_ticket.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace chatnode {

using json = nlohmann::json;

// -- message ids ------------------------------------------------------------

std::string message_id::to_string() const {
  return std::to_string(ms) + '-' + std::to_string(seq);
}

std::optional<message_id> message_id::parse(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size())
    return std::nullopt;
  message_id id;
  auto parse_part = [](std::string_view part, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc{} && end == part.data() + part.size();
  };
  if (!parse_part(text.substr(0, dash), id.ms) || !parse_part(text.substr(dash + 1), id.seq))
    return std::nullopt;
  return id;
}

// -- validation -------------------------------------------------------------

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > max_room_chars)
    return false;
  for (char c : room) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

namespace {

/// The code points of valid UTF-8 (the WebSocket layer checked it).
std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    char32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra && i + k < text.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back(cp);
    i += 1 + extra;
  }
  return out;
}

/// Code points that show nothing by themselves: joiners, variation
/// selectors, the keycap mark and skin tones.
bool joins_or_modifies(char32_t cp) {
  return cp == 0x200D || cp == 0xFE0E || cp == 0xFE0F || cp == 0x20E3 || (cp >= 0x1F3FB && cp <= 0x1F3FF) ||
         (cp >= 0xE0020 && cp <= 0xE007F);
}

} // namespace

bool valid_emoji(std::string_view emoji) {
  if (emoji.empty() || emoji.size() > max_emoji_bytes)
    return false;
  auto cps = code_points(emoji);
  bool keycap = std::find(cps.begin(), cps.end(), char32_t{0x20E3}) != cps.end();
  bool visible = false;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    auto cp = cps[i];
    bool keycap_base = keycap && i == 0 && ((cp >= '0' && cp <= '9') || cp == '#' || cp == '*');
    // ASCII, C1 controls, spaces, bidi controls and invisible formatting.
    if ((cp <= 0xA0 && !keycap_base) || (cp >= 0x2000 && cp <= 0x200C) || (cp >= 0x200E && cp <= 0x206F) ||
        cp == 0x3000 || cp == 0xFEFF)
      return false;
    visible = visible || !joins_or_modifies(cp);
  }
  return visible;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80; // count every byte that starts a code point
  return n;
}

bool nesting_exceeds(std::string_view json, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

namespace {

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

decode_error fail(error_code code, std::string reason, std::string cid = {}) {
  return decode_error{code, std::move(reason), std::move(cid)};
}

/// Reads an optional string field; false when present with another type.
bool read_string(const json& obj, const char* key, std::optional<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_string())
    return false;
  out = it->get<std::string>();
  return true;
}

} // namespace

namespace {

std::optional<request_type> type_named(std::string_view name) {
  if (name == "join")
    return request_type::join;
  if (name == "leave")
    return request_type::leave;
  if (name == "send")
    return request_type::send;
  if (name == "history")
    return request_type::history;
  if (name == "typing")
    return request_type::typing;
  if (name == "edit")
    return request_type::edit;
  if (name == "delete")
    return request_type::remove;
  if (name == "react")
    return request_type::react;
  if (name == "read")
    return request_type::read;
  if (name == "moderate")
    return request_type::moderate;
  if (name == "dm")
    return request_type::dm;
  if (name == "rooms")
    return request_type::rooms;
  if (name == "dms")
    return request_type::dms;
  if (name == "search")
    return request_type::search;
  if (name == "members")
    return request_type::members;
  if (name == "thread")
    return request_type::thread;
  if (name == "upload")
    return request_type::upload;
  if (name == "threads")
    return request_type::threads;
  if (name == "thread_read")
    return request_type::thread_read;
  if (name == "push_key")
    return request_type::push_key;
  if (name == "push_subscribe")
    return request_type::push_subscribe;
  if (name == "push_unsubscribe")
    return request_type::push_unsubscribe;
  if (name == "notify")
    return request_type::notify;
  if (name == "notify_levels")
    return request_type::notify_levels;
  if (name == "auth")
    return request_type::auth;
  if (name == "commands")
    return request_type::commands;
  return std::nullopt;
}

/// An optional message id field; an error when present and not an id.
std::optional<decode_error> read_id(const json& doc, const char* key, std::optional<message_id>& out) {
  std::optional<std::string> text;
  if (!read_string(doc, key, text))
    return fail(error_code::bad_request, std::string{key} + " must be a message id string");
  if (text) {
    out = message_id::parse(*text);
    if (!out)
      return fail(error_code::bad_request, std::string{key} + " is not a message id");
  }
  return std::nullopt;
}

/// A user's name (or identity) field: 1 to 32 characters, trimmed, not
/// blank, no control characters.
std::optional<decode_error> read_name(const json& doc, const char* key, std::string& out) {
  std::optional<std::string> name;
  if (!read_string(doc, key, name) || !name)
    return fail(error_code::bad_request, std::string{key} + " is missing or not a string");
  auto trimmed = trim(*name);
  if (trimmed.empty() || utf8_length(trimmed) > max_name_chars)
    return fail(error_code::bad_request, std::string{key} + " must be 1 to 32 characters, not blank");
  for (unsigned char c : trimmed)
    if (c < 0x20 || c == 0x7F)
      return fail(error_code::bad_request, std::string{key} + " must not contain control characters");
  out = std::string{trimmed};
  return std::nullopt;
}

std::optional<decode_error> read_moderate(const json& doc, request& req) {
  std::optional<std::string> action;
  if (!read_string(doc, "action", action) || !action)
    return fail(error_code::bad_request, "action is missing or not a string");
  auto named = moderation_action_named(*action);
  if (!named)
    return fail(error_code::bad_request, "action must be mute, unmute, kick, ban or unban");
  req.action = *named;
  if (auto err = read_name(doc, "user", req.user))
    return err;
  if (auto it = doc.find("seconds"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
      return fail(error_code::bad_request, "seconds must be a positive integer");
    auto seconds = it->get<std::int64_t>();
    if (seconds <= max_moderation_seconds)
      req.seconds = seconds;
  }
  return std::nullopt;
}

std::optional<decode_error> read_rooms(const json& doc, const protocol_limits& limits, request& req) {
  std::optional<std::string> cursor;
  if (!read_string(doc, "cursor", cursor))
    return fail(error_code::bad_request, "cursor must be a string");
  if (cursor) {
    // A cursor is what a `rooms` event gave as `next`: a position.
    auto [end, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), req.offset);
    if (ec != std::errc{} || end != cursor->data() + cursor->size() || cursor->size() > 9)
      return fail(error_code::bad_request, "cursor is not one this node gave");
  }
  req.limit = std::min(limits.default_page_size, max_page_size);
  if (auto it = doc.find("limit"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 100)
      return fail(error_code::bad_request, "limit must be 1 to 100");
    req.limit = static_cast<std::size_t>(it->get<std::int64_t>());
  }
  if (auto it = doc.find("watch"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean())
      return fail(error_code::bad_request, "watch must be a boolean");
    req.watch = it->get<bool>();
  }
  return std::nullopt;
}

/// A token field (join's optional one, auth's required one).
std::optional<decode_error> read_token(const json& doc, request& req, bool required) {
  std::optional<std::string> token;
  if (!read_string(doc, "token", token) || (required && !token))
    return fail(error_code::bad_request,
                required ? "token is missing or not a string" : "token must be a string");
  if (token && token->size() > max_token_chars)
    return fail(error_code::bad_request, "token is longer than 4096 characters");
  req.token = std::move(token).value_or("");
  return std::nullopt;
}

std::optional<decode_error> read_join(const json& doc, const protocol_limits& limits, request& req) {
  if (auto err = read_name(doc, "name", req.name))
    return err;
  if (auto err = read_id(doc, "since", req.since))
    return err;
  if (auto err = read_token(doc, req, false))
    return err;
  req.limit = limits.default_page_size;
  return std::nullopt;
}

std::optional<decode_error> read_send(const json& doc, const protocol_limits& limits, request& req,
                                      bool may_be_empty = false) {
  std::optional<std::string> text;
  if (!read_string(doc, "text", text) || (!text && !may_be_empty))
    return fail(error_code::bad_request, "text is missing or not a string", req.cid);
  if (!text)
    text.emplace();
  auto length = utf8_length(*text);
  if (length == 0 && !may_be_empty)
    return fail(error_code::bad_request, "text is empty", req.cid);
  if (length > limits.max_text_chars)
    return fail(error_code::too_large,
                "text is longer than " + std::to_string(limits.max_text_chars) + " characters", req.cid);
  req.text = std::move(*text);
  return std::nullopt;
}

/// True for `type/subtype`, each a token of RFC 9110.
bool valid_mime(std::string_view mime) {
  auto token = [](std::string_view t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
      auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u < 0x7F &&
             std::string_view{"()<>@,;:\\\"/[]?={}"}.find(c) == std::string_view::npos;
    });
  };
  auto slash = mime.find('/');
  return slash != std::string_view::npos && token(mime.substr(0, slash)) && token(mime.substr(slash + 1));
}

/// An `upload`: the file's name, size and type (none or empty: application/octet-stream).
std::optional<decode_error> read_upload(const json& doc, request& req) {
  std::optional<std::string> name, mime;
  if (!read_string(doc, "name", name) || !name || name->empty())
    return fail(error_code::bad_request, "name is missing or not a string", req.cid);
  if (name->size() > max_file_name_bytes)
    return fail(error_code::bad_request, "name is longer than 255 bytes", req.cid);
  if (std::any_of(name->begin(), name->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    return fail(error_code::bad_request, "name holds control characters", req.cid);
  auto size = doc.find("size");
  if (size == doc.end() || !size->is_number_unsigned() || size->get<std::uint64_t>() > (1ULL << 53))
    return fail(error_code::bad_request, "size must be a number of bytes", req.cid);
  if (!read_string(doc, "mime", mime))
    return fail(error_code::bad_request, "mime must be a string", req.cid);
  std::string type = mime.value_or("");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; });
  if (type.empty())
    type = "application/octet-stream";
  if (type.size() > max_mime_bytes || !valid_mime(type))
    return fail(error_code::bad_request, "mime is not a MIME type", req.cid);
  req.file_name = std::move(*name);
  req.file_size = size->get<std::uint64_t>();
  req.mime = std::move(type);
  return std::nullopt;
}

/// (1.2) A `send`'s optional files: at most 10 distinct file ids.
std::optional<decode_error> read_files(const json& doc, request& req) {
  auto it = doc.find("files");
  if (it == doc.end() || it->is_null())
    return std::nullopt;
  if (!it->is_array() || it->size() > max_files_per_message)
    return fail(error_code::bad_request, "files must be an array of at most 10 file ids", req.cid);
  for (const auto& id : *it) {
    if (!id.is_string() || !valid_file_id(id.get_ref<const std::string&>()))
      return fail(error_code::bad_request, "files must be an array of at most 10 file ids", req.cid);
    if (std::find(req.files.begin(), req.files.end(), id.get_ref<const std::string&>()) != req.files.end())
      return fail(error_code::bad_request, "a file is named twice in files", req.cid);
    req.files.push_back(id.get<std::string>());
  }
  return std::nullopt;
}

/// A `send`'s optional reply_to and thread: message ids.
std::optional<decode_error> read_reply_fields(const json& doc, request& req) {
  for (auto [key, out] : {std::pair{"reply_to", &req.reply_to}, std::pair{"thread", &req.thread}})
    if (auto err = read_id(doc, key, *out)) {
      err->cid = req.cid;
      return err;
    }
  return std::nullopt;
}

/// A required message id field.
std::optional<decode_error> read_required_id(const json& doc, const char* key, message_id& out,
                                             const std::string& cid) {
  std::optional<message_id> id;
  if (auto err = read_id(doc, key, id)) {
    err->cid = cid;
    return err;
  }
  if (!id)
    return fail(error_code::bad_request, std::string{key} + " is missing", cid);
  out = *id;
  return std::nullopt;
}

std::optional<decode_error> read_react(const json& doc, request& req) {
  std::optional<std::string> emoji;
  if (!read_string(doc, "emoji", emoji) || !emoji)
    return fail(error_code::bad_request, "emoji is missing or not a string", req.cid);
  if (!valid_emoji(*emoji))
    return fail(error_code::bad_request, "emoji must be one emoji, at most 16 bytes", req.cid);
  req.emoji = std::move(*emoji);
  auto on = doc.find("on");
  if (on == doc.end() || !on->is_boolean())
    return fail(error_code::bad_request, "on is missing or not a boolean", req.cid);
  req.on = on->get<bool>();
  return std::nullopt;
}

/// A page's optional `before` and `limit` (1 to `most`, `fallback` when absent).
std::optional<decode_error> read_page(const json& doc, std::size_t fallback, std::size_t most, request& req) {
  if (auto err = read_id(doc, "before", req.before))
    return err;
  req.limit = fallback;
  if (auto it = doc.find("limit"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return fail(error_code::bad_request, "limit must be an integer");
    auto limit = it->get<std::int64_t>();
    if (limit < 1 || limit > static_cast<std::int64_t>(most))
      return fail(error_code::bad_request, "limit must be 1 to " + std::to_string(most));
    req.limit = static_cast<std::size_t>(limit);
  }
  return std::nullopt;
}

std::optional<decode_error> read_history(const json& doc, const protocol_limits& limits, request& req) {
  return read_page(doc, limits.default_page_size, max_page_size, req);
}

std::optional<decode_error> read_search(const json& doc, request& req) {
  std::optional<std::string> query;
  if (!read_string(doc, "query", query) || !query)
    return fail(error_code::bad_request, "query is missing or not a string");
  auto first = query->find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return fail(error_code::bad_request, "query must hold a word");
  auto last = query->find_last_not_of(" \t\r\n");
  req.text = query->substr(first, last - first + 1);
  if (utf8_length(req.text) > max_search_chars)
    return fail(error_code::bad_request, "query must be at most 200 characters");
  return read_page(doc, default_search_page, max_search_page, req);
}

std::optional<decode_error> read_members(const json& doc, request& req) {
  std::optional<std::string> after;
  if (!read_string(doc, "after", after))
    return fail(error_code::bad_request, "after must be a string");
  if (after && utf8_length(*after) > max_name_chars)
    return fail(error_code::bad_request, "after must be a name, at most 32 characters");
  req.after = std::move(after);
  req.limit = default_members_page;
  if (auto it = doc.find("limit"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
        it->get<std::int64_t>() > static_cast<std::int64_t>(max_members_page))
      return fail(error_code::bad_request, "limit must be 1 to " + std::to_string(max_members_page));
    req.limit = static_cast<std::size_t>(it->get<std::int64_t>());
  }
  return std::nullopt;
}

/// The frame as a JSON object. Depth is checked before parsing: the parser
/// would build (and free recursively) whatever depth it is given.
std::optional<decode_error> parse_object(std::string_view frame, const protocol_limits& limits, json& doc) {
  if (nesting_exceeds(frame, limits.max_json_depth)) {
    auto err = fail(error_code::bad_json,
                    "JSON nests deeper than " + std::to_string(limits.max_json_depth) + " levels");
    err.too_deep = true;
    return err;
  }
  doc = json::parse(frame, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(error_code::bad_json, "frame is not a JSON object");
  return std::nullopt;
}

/// What every request carries: its cid, read first so that every later
/// error can carry it, and its type.
std::optional<decode_error> read_envelope(const json& doc, std::string& cid_text, request& req) {
  std::optional<std::string> cid;
  if (!read_string(doc, "cid", cid))
    return fail(error_code::bad_request, "cid must be a string");
  if (cid && utf8_length(*cid) > max_cid_chars)
    return fail(error_code::bad_request, "cid is longer than 64 characters");
  cid_text = cid.value_or("");
  std::optional<std::string> type;
  if (!read_string(doc, "type", type) || !type)
    return fail(error_code::bad_request, "type is missing or not a string", cid_text);
  auto kind = type_named(*type);
  if (!kind)
    return fail(error_code::bad_request, "unknown type", cid_text);
  req.type = *kind;
  return std::nullopt;
}

/// The fields of a request that names no room: the node names a direct
/// conversation's room, `dms` lists the user's, `rooms` the directory.
constexpr std::size_t max_endpoint_bytes = 2048;

/// (1.2) A push service's URL: http(s), a host, at most 2,048 bytes of
/// printable ASCII. Whether plain http is allowed is the node's to say.
std::optional<decode_error> read_endpoint(const json& doc, request& req) {
  std::optional<std::string> endpoint;
  if (!read_string(doc, "endpoint", endpoint) || !endpoint)
    return fail(error_code::bad_request, "endpoint is missing or not a string", req.cid);
  auto& e = *endpoint;
  auto scheme = e.starts_with("https://") ? 8u : e.starts_with("http://") ? 7u : 0u;
  if (scheme == 0 || e.size() > max_endpoint_bytes || e.size() == scheme || e[scheme] == '/' ||
      !std::all_of(e.begin(), e.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
    return fail(error_code::bad_request, "endpoint must be an http(s) URL of at most 2048 bytes", req.cid);
  req.endpoint = std::move(e);
  return std::nullopt;
}

/// A key of a push subscription: base64url of exactly `bytes` bytes,
/// padding allowed and dropped.
std::optional<std::string> push_key_field(const json& keys, const char* key, std::size_t bytes) {
  std::optional<std::string> text;
  if (!read_string(keys, key, text) || !text)
    return std::nullopt;
  while (!text->empty() && text->back() == '=')
    text->pop_back();
  auto base64url = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  };
  if (text->size() != (bytes * 8 + 5) / 6 || !std::all_of(text->begin(), text->end(), base64url))
    return std::nullopt;
  return text;
}

std::optional<decode_error> read_push_subscription(const json& doc, request& req) {
  if (auto err = read_endpoint(doc, req))
    return err;
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_object())
    return fail(error_code::bad_request, "keys must be an object with p256dh and auth", req.cid);
  auto p256dh = push_key_field(*keys, "p256dh", 65);
  if (!p256dh || !p256dh->starts_with('B')) // 0x04: an uncompressed point
    return fail(error_code::bad_request, "keys.p256dh must be a P-256 public key (65 bytes, base64url)",
                req.cid);
  auto secret = push_key_field(*keys, "auth", 16);
  if (!secret)
    return fail(error_code::bad_request, "keys.auth must be 16 bytes, base64url", req.cid);
  req.p256dh = std::move(*p256dh);
  req.push_secret = std::move(*secret);
  return std::nullopt;
}

std::optional<decode_error> read_roomless(const json& doc, const protocol_limits& limits, request& req) {
  if (req.type == request_type::push_subscribe)
    return read_push_subscription(doc, req);
  if (req.type == request_type::push_unsubscribe)
    return read_endpoint(doc, req);
  if (req.type == request_type::dm)
    return read_name(doc, "user", req.user);
  if (req.type == request_type::rooms)
    return read_rooms(doc, limits, req);
  if (req.type == request_type::auth)
    return read_token(doc, req, true);
  return std::nullopt;
}

/// A request's own fields after its room (its cid is read already: a
/// refusal carries it back).
std::optional<decode_error> read_room_fields(const json& doc, const protocol_limits& limits, request& req) {
  switch (req.type) {
    case request_type::join: return read_join(doc, limits, req);
    case request_type::send:
      if (auto err = read_files(doc, req))
        return err;
      // With files, the text may be empty.
      if (auto err = read_send(doc, limits, req, !req.files.empty()))
        return err;
      return read_reply_fields(doc, req);
    case request_type::thread: {
      message_id root;
      if (auto err = read_required_id(doc, "root", root, {}))
        return err;
      req.thread = root;
      return read_history(doc, limits, req);
    }
    case request_type::upload: return read_upload(doc, req);
    case request_type::thread_read: {
      message_id root;
      if (auto err = read_required_id(doc, "root", root, req.cid))
        return err;
      req.thread = root;
      return read_required_id(doc, "id", req.read, req.cid);
    }
    case request_type::threads: break;
    case request_type::history: return read_history(doc, limits, req);
    case request_type::search: return read_search(doc, req);
    case request_type::members: return read_members(doc, req);
    case request_type::edit:
      if (auto err = read_required_id(doc, "target", req.target, req.cid))
        return err;
      return read_send(doc, limits, req);
    case request_type::remove: return read_required_id(doc, "target", req.target, req.cid);
    case request_type::react:
      if (auto err = read_required_id(doc, "target", req.target, req.cid))
        return err;
      return read_react(doc, req);
    case request_type::read: return read_required_id(doc, "id", req.read, {});
    case request_type::moderate: return read_moderate(doc, req);
    case request_type::dm:
    case request_type::notify: {
      std::optional<std::string> level;
      if (!read_string(doc, "level", level) || !level ||
          (*level != "all" && *level != "mentions" && *level != "none"))
        return fail(error_code::bad_request, "level must be all, mentions or none", req.cid);
      req.level = std::move(*level);
      break;
    }
    case request_type::dms:
    case request_type::push_key:
    case request_type::push_subscribe:
    case request_type::push_unsubscribe:
    case request_type::notify_levels:
    case request_type::auth:
    case request_type::commands:
    case request_type::rooms: // no room: read_roomless
    case request_type::leave:
    case request_type::typing: break;
  }
  return std::nullopt;
}

} // namespace

decode_result decode_request(std::string_view frame, const protocol_limits& limits) {
  json doc;
  if (auto err = parse_object(frame, limits, doc))
    return *err;
  request req;
  std::string cid;
  if (auto err = read_envelope(doc, cid, req))
    return *err;
  // Every answer to the request, a refusal included, carries its cid.
  req.cid = cid;
  auto refused = [&cid](decode_error err) {
    if (err.cid.empty())
      err.cid = cid;
    return err;
  };
  if (req.type == request_type::dm || req.type == request_type::dms || req.type == request_type::rooms ||
      req.type == request_type::push_key || req.type == request_type::push_subscribe ||
      req.type == request_type::push_unsubscribe || req.type == request_type::notify_levels ||
      req.type == request_type::auth || req.type == request_type::commands) {
    if (auto err = read_roomless(doc, limits, req))
      return refused(*err);
    return req;
  }
  std::optional<std::string> room;
  if (!read_string(doc, "room", room) || !room)
    return fail(error_code::bad_request, "room is missing or not a string", cid);
  if (!valid_room(*room))
    return fail(error_code::bad_request, "room must be 1 to 64 characters of A-Z a-z 0-9 _ . -", cid);
  req.room = std::move(*room);
  if (auto err = read_room_fields(doc, limits, req))
    return refused(*err);
  return req;
}

// -- encoding ---------------------------------------------------------------
// Events are written by hand: the hot path (message fan-out) encodes one
// message per delivery batch, and a direct writer avoids building a DOM.

namespace {

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_escaped(out, value);
}

/// (1.2) A preview's fields, in its event and in a message's snapshot.
void append_preview_fields(std::string& out, const link_preview& preview) {
  append_field(out, "url", preview.url);
  append_field(out, "title", preview.title);
  append_field(out, "description", preview.description);
  append_field(out, "site", preview.site);
  if (!preview.image.empty())
    append_field(out, "image", preview.image);
}

/// A message's thread (right after its ts: a store writes it there) and
/// the message it quotes.
void append_reply_fields(std::string& out, const chat_message& msg) {
  if (msg.thread)
    append_field(out, "thread", msg.thread->to_string());
  if (msg.reply_to)
    append_field(out, "reply_to", msg.reply_to->to_string());
}

/// A file name as one path segment: unreserved characters as they are, every other byte percent-encoded.
std::string path_segment(std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

/// (1.2) A message's files, each with the paths to fetch it (and its thumbnail) from any node.
void append_files(std::string& out, const std::vector<shared_file>& files) {
  if (files.empty())
    return;
  out += ",\"files\":[";
  bool first = true;
  for (const auto& f : files) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"file\":";
    append_escaped(out, f.file);
    append_field(out, "name", f.name);
    out += ",\"size\":";
    out += std::to_string(f.size);
    append_field(out, "mime", f.mime);
    append_field(out, "url", "/files/" + f.file + "/" + path_segment(f.name));
    if (f.width > 0) {
      out += ",\"width\":";
      out += std::to_string(f.width);
      out += ",\"height\":";
      out += std::to_string(f.height);
    }
    if (f.thumb)
      append_field(out, "thumb", "/files/thumb/" + f.file);
    out += '}';
  }
  out += ']';
}

void append_message_fields(std::string& out, const chat_message& msg) {
  out += "\"room\":";
  append_escaped(out, msg.room);
  out += ",\"id\":\"";
  out += msg.id.to_string();
  out += '"';
  append_field(out, "user", msg.user);
  if (!msg.display.empty())
    append_field(out, "name", msg.display);
  if (msg.bot)
    out += ",\"bot\":true";
  append_field(out, "text", msg.text);
  out += ",\"ts\":";
  out += std::to_string(msg.ts);
  append_reply_fields(out, msg);
  append_files(out, msg.files);
  if (!msg.cid.empty())
    append_field(out, "cid", msg.cid);
}

/// A thread root's `replies` and `last_reply`.
void append_thread_state(std::string& out, std::size_t replies, std::optional<std::int64_t> last_reply) {
  out += ",\"replies\":";
  out += std::to_string(replies);
  out += ",\"last_reply\":";
  out += last_reply ? std::to_string(*last_reply) : std::string{"null"};
}

void append_message_array(std::string& out, const std::vector<stored_message>& messages) {
  out += '[';
  bool first = true;
  for (const auto& msg : messages) {
    if (!first)
      out += ',';
    first = false;
    out += *msg.frame;
  }
  out += ']';
}

std::string start_event(std::string_view type, std::size_t reserve = 128) {
  std::string out;
  out.reserve(reserve);
  out += "{\"type\":\"";
  out += type;
  out += '"';
  return out;
}

/// A JSON array of names.
void append_names(std::string& out, const std::vector<std::string>& names) {
  out += '[';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ',';
    append_escaped(out, names[i]);
  }
  out += ']';
}

} // namespace

std::string encode_welcome(std::string_view node, std::string_view session, bool token_required,
                           std::uint64_t file_bytes) {
  auto out = start_event("welcome");
  append_field(out, "node", node);
  append_field(out, "session", session);
  out += ",\"protocol\":";
  out += std::to_string(protocol_version);
  if (token_required)
    out += ",\"auth\":\"token\"";
  if (file_bytes > 0) {
    out += ",\"files\":{\"max_bytes\":";
    out += std::to_string(file_bytes);
    out += '}';
  }
  out += '}';
  return out;
}

std::string encode_joined(std::string_view room, const std::vector<std::string>& members,
                          const message_page& history, const joined_extras& extras) {
  auto read = extras.read;
  auto unread = extras.unread;
  std::size_t size = 256;
  for (const auto& msg : history.messages)
    size += msg.frame->size() + 1;
  auto out = start_event("joined", size);
  append_field(out, "room", room);
  out += ",\"members\":";
  append_names(out, members);
  out += ",\"history\":";
  append_message_array(out, history.messages);
  out += ",\"more\":";
  out += history.more ? "true" : "false";
  out += ",\"read\":";
  if (read) {
    out += '"';
    out += read->to_string();
    out += '"';
  } else {
    out += "null";
  }
  out += ",\"unread\":";
  out += std::to_string(unread);
  out += ",\"count\":";
  out += std::to_string(std::max(extras.count, members.size()));
  out += ",\"members_more\":";
  out += extras.members_more ? "true" : "false";
  if (!extras.peer.empty()) {
    out += ",\"dm\":true";
    append_field(out, "peer", extras.peer);
  }
  if (!extras.role.empty())
    append_field(out, "role", extras.role);
  out += '}';
  return out;
}

std::string encode_message(const chat_message& msg) {
  std::string out;
  out.reserve(96 + msg.room.size() + msg.user.size() + msg.text.size() + msg.cid.size());
  out += "{\"type\":\"message\",";
  append_message_fields(out, msg);
  out += '}';
  return out;
}

std::string encode_current_message(const chat_message& msg, const message_state& state) {
  std::string out;
  out.reserve(112 + msg.room.size() + msg.user.size() + msg.text.size() + msg.cid.size());
  out += "{\"type\":\"message\",\"room\":";
  append_escaped(out, msg.room);
  out += ",\"id\":\"";
  out += msg.id.to_string();
  out += '"';
  append_field(out, "user", msg.user);
  if (!msg.display.empty())
    append_field(out, "name", msg.display);
  if (msg.bot)
    out += ",\"bot\":true";
  append_field(out, "text", state.deleted ? std::string_view{} : std::string_view{msg.text});
  out += ",\"ts\":";
  out += std::to_string(msg.ts);
  append_reply_fields(out, msg);
  if (!state.deleted)
    append_files(out, msg.files);
  if (!msg.cid.empty())
    append_field(out, "cid", msg.cid);
  if (state.deleted)
    out += ",\"deleted\":true";
  else if (state.edited)
    out += ",\"edited\":" + std::to_string(*state.edited);
  out += ",\"reactions\":{";
  bool first = true;
  for (const auto& [emoji, users] : state.reactions) {
    if (state.deleted || users.empty())
      break;
    if (!first)
      out += ',';
    first = false;
    append_escaped(out, emoji);
    out += ":[";
    for (std::size_t i = 0; i < users.size(); ++i) {
      if (i > 0)
        out += ',';
      append_escaped(out, users[i]);
    }
    out += ']';
  }
  out += '}';
  if (state.replies)
    append_thread_state(out, *state.replies, state.last_reply);
  if (state.preview && !state.deleted) {
    out += ",\"preview\":{";
    auto fields = out.size();
    append_preview_fields(out, *state.preview);
    out.erase(fields, 1); // the first field's comma
    out += '}';
  }
  out += '}';
  return out;
}

namespace {

std::string_view change_type(change_kind kind) {
  switch (kind) {
    case change_kind::edit: return "edit";
    case change_kind::remove: return "delete";
    case change_kind::reaction: return "reaction";
    case change_kind::moderation: return "moderation";
    case change_kind::preview: return "preview";
  }
  return "edit";
}

} // namespace

message_template encode_change_template(const message_change& change) {
  message_template t;
  t.head = "{\"type\":\"";
  t.head += change_type(change.kind);
  t.head += "\",\"room\":";
  append_escaped(t.head, change.room);
  t.head += ",\"id\":\"";
  t.middle = "\",\"target\":\"" + change.target.to_string() + '"';
  // A preview is the node's, not a user's.
  if (change.kind != change_kind::preview)
    append_field(t.middle, "user", change.user);
  switch (change.kind) {
    case change_kind::edit:
      append_field(t.middle, "text", change.text);
      t.middle += ",\"ts\":";
      break;
    case change_kind::remove:
    case change_kind::moderation: t.middle += ",\"ts\":"; break;
    case change_kind::preview:
      append_preview_fields(t.middle, change.preview);
      t.middle += ",\"ts\":";
      break;
    case change_kind::reaction:
      append_field(t.middle, "emoji", change.emoji);
      t.middle += change.on ? ",\"on\":true" : ",\"on\":false";
      t.middle += ",\"count\":";
      break;
  }
  if (change.unchanged)
    t.tail += ",\"unchanged\":true";
  if (!change.cid.empty())
    append_field(t.tail, "cid", change.cid);
  t.tail += '}';
  return t;
}

const thread_fragments& thread_fields() {
  static const thread_fragments fragments{",\"thread\":\"", "\"", ",\"replies\":", ",\"last_reply\":"};
  return fragments;
}

std::string encode_change(const message_change& change) {
  auto t = encode_change_template(change);
  auto out = t.head + change.id.to_string() + t.middle;
  out += change.kind == change_kind::reaction ? std::to_string(change.count) : std::to_string(change.ts);
  if (change.kind == change_kind::remove && change.thread) {
    append_field(out, "thread", change.thread->to_string());
    append_thread_state(out, change.replies, change.last_reply);
  }
  return out + t.tail;
}

std::string_view to_string(moderation_action action) {
  switch (action) {
    case moderation_action::mute: return "mute";
    case moderation_action::unmute: return "unmute";
    case moderation_action::kick: return "kick";
    case moderation_action::ban: return "ban";
    case moderation_action::unban: return "unban";
  }
  return "kick";
}

std::optional<moderation_action> moderation_action_named(std::string_view name) {
  for (auto action : {moderation_action::mute, moderation_action::unmute, moderation_action::kick,
                      moderation_action::ban, moderation_action::unban})
    if (to_string(action) == name)
      return action;
  return std::nullopt;
}

std::string encode_moderation(const moderation_event& event) {
  auto out = start_event("moderation");
  append_field(out, "room", event.room);
  append_field(out, "id", event.id.to_string());
  append_field(out, "action", to_string(event.action));
  append_field(out, "user", event.user);
  append_field(out, "by", event.by);
  out += ",\"until\":";
  out += event.until ? std::to_string(*event.until) : "null";
  out += '}';
  return out;
}

namespace {

void append_directory_fields(std::string& out, const directory_entry& entry) {
  out += "\"room\":";
  append_escaped(out, entry.room);
  out += ",\"members\":";
  out += std::to_string(entry.members);
  out += ",\"last_ts\":";
  out += entry.last_ts ? std::to_string(*entry.last_ts) : "null";
}

} // namespace

std::string encode_rooms(const std::vector<directory_entry>& rooms, std::optional<std::size_t> next) {
  auto out = start_event("rooms", 64 + rooms.size() * 64);
  out += ",\"rooms\":[";
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '{';
    append_directory_fields(out, rooms[i]);
    out += '}';
  }
  out += "],\"next\":";
  out += next ? '"' + std::to_string(*next) + '"' : std::string{"null"};
  out += '}';
  return out;
}

std::string encode_room_update(const directory_entry& entry) {
  auto out = start_event("room_update");
  out += ',';
  append_directory_fields(out, entry);
  out += '}';
  return out;
}

std::string encode_conversation(std::string_view room, std::string_view peer) {
  auto out = start_event("conversation");
  append_field(out, "room", room);
  append_field(out, "peer", peer);
  out += '}';
  return out;
}

std::string encode_conversations(const std::vector<std::pair<std::string, std::string>>& list) {
  auto out = start_event("dms");
  out += ",\"conversations\":[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '{';
    out += "\"room\":";
    append_escaped(out, list[i].first);
    append_field(out, "peer", list[i].second);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string encode_kicked(std::string_view room, std::string_view by) {
  auto out = start_event("kicked");
  append_field(out, "room", room);
  append_field(out, "by", by);
  out += '}';
  return out;
}

std::string encode_read(std::string_view room, message_id id, std::size_t unread) {
  auto out = start_event("read");
  append_field(out, "room", room);
  append_field(out, "id", id.to_string());
  out += ",\"unread\":";
  out += std::to_string(unread);
  out += '}';
  return out;
}

std::string encode_thread_read(std::string_view room, message_id root, std::optional<message_id> id,
                               std::size_t unread) {
  auto out = start_event("thread_read");
  append_field(out, "room", room);
  append_field(out, "root", root.to_string());
  if (id)
    append_field(out, "id", id->to_string());
  else
    out += ",\"id\":null";
  out += ",\"unread\":";
  out += std::to_string(unread);
  out += '}';
  return out;
}

std::string encode_push_subscription(std::string_view type, std::string_view endpoint, std::string_view cid) {
  auto out = start_event(type);
  append_field(out, "endpoint", endpoint);
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_notify(std::string_view room, std::string_view level) {
  auto out = start_event("notify");
  append_field(out, "room", room);
  append_field(out, "level", level);
  out += '}';
  return out;
}

std::string encode_push_key(std::string_view key, std::string_view cid) {
  auto out = start_event("push_key");
  append_field(out, "key", key);
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_auth(std::int64_t exp, std::string_view cid) {
  auto out = start_event("auth");
  out += ",\"exp\":";
  out += std::to_string(exp);
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_commands(const std::vector<command_entry>& commands, std::string_view cid) {
  auto out = start_event("commands");
  out += ",\"commands\":[";
  bool first = true;
  for (const auto& c : commands) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"name\":";
    append_escaped(out, c.name);
    append_field(out, "description", c.description);
    append_field(out, "usage", c.usage);
    if (!c.rooms.empty()) {
      out += ",\"rooms\":[";
      for (std::size_t i = 0; i < c.rooms.size(); ++i) {
        if (i)
          out += ',';
        append_escaped(out, c.rooms[i]);
      }
      out += ']';
    }
    out += '}';
  }
  out += ']';
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_command(std::string_view room, std::string_view command, std::string_view cid,
                           std::string_view text, std::optional<message_id> posted) {
  auto out = start_event("command");
  append_field(out, "room", room);
  append_field(out, "command", command);
  if (!text.empty())
    append_field(out, "text", text);
  if (posted)
    append_field(out, "id", posted->to_string());
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_notify_levels(const std::vector<std::pair<std::string, std::string>>& levels,
                                 std::string_view cid) {
  auto out = start_event("notify_levels");
  out += ",\"levels\":{";
  bool first = true;
  for (const auto& l : levels) {
    if (!first)
      out += ',';
    first = false;
    append_escaped(out, l.first);
    out += ':';
    append_escaped(out, l.second);
  }
  out += '}';
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

std::string encode_threads(std::string_view room, const followed_threads& followed) {
  auto out = start_event("threads");
  append_field(out, "room", room);
  out += ",\"threads\":[";
  bool first = true;
  for (const auto& t : followed.threads) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"root\":";
    append_escaped(out, t.root.to_string());
    if (t.read)
      append_field(out, "read", t.read->to_string());
    else
      out += ",\"read\":null";
    out += ",\"unread\":" + std::to_string(t.unread);
    out += ",\"replies\":" + std::to_string(t.replies);
    out += ",\"last_reply\":" + (t.last_reply ? std::to_string(*t.last_reply) : std::string{"null"});
    out += '}';
  }
  out += "]}";
  return out;
}

message_template encode_message_template(std::string_view room, std::string_view user, std::string_view text,
                                         std::string_view cid, std::optional<message_id> reply_to,
                                         const std::vector<shared_file>& files, bool bot,
                                         std::string_view display) {
  // Same field order as encode_message, so both produce identical bytes.
  message_template t;
  t.head = "{\"type\":\"message\",\"room\":";
  append_escaped(t.head, room);
  t.head += ",\"id\":\"";
  t.middle = "\"";
  append_field(t.middle, "user", user);
  if (!display.empty())
    append_field(t.middle, "name", display);
  if (bot)
    t.middle += ",\"bot\":true";
  append_field(t.middle, "text", text);
  t.middle += ",\"ts\":";
  if (reply_to)
    append_field(t.tail, "reply_to", reply_to->to_string());
  append_files(t.tail, files);
  if (!cid.empty())
    append_field(t.tail, "cid", cid);
  t.tail += '}';
  return t;
}

std::string encode_presence(std::string_view room, std::string_view user, bool joined, std::size_t count) {
  auto out = start_event("presence");
  append_field(out, "room", room);
  append_field(out, "user", user);
  append_field(out, "event", joined ? "join" : "leave");
  out += ",\"count\":";
  out += std::to_string(count);
  out += '}';
  return out;
}

std::string encode_presence_diff(std::string_view room, const std::vector<std::string>& joins,
                                 const std::vector<std::string>& leaves, std::size_t count,
                                 std::string_view upto) {
  auto out = start_event("presence_diff", 96 + 36 * (joins.size() + leaves.size()));
  append_field(out, "room", room);
  out += ",\"joins\":";
  append_names(out, joins);
  out += ",\"leaves\":";
  append_names(out, leaves);
  out += ",\"count\":";
  out += std::to_string(count);
  if (!upto.empty())
    append_field(out, "upto", upto);
  out += '}';
  return out;
}

std::string encode_members(std::string_view room, const std::vector<std::string>& names, std::size_t count,
                           bool more) {
  auto out = start_event("members", 64 + 36 * names.size());
  append_field(out, "room", room);
  out += ",\"members\":";
  append_names(out, names);
  out += ",\"count\":";
  out += std::to_string(count);
  out += ",\"more\":";
  out += more ? "true" : "false";
  out += '}';
  return out;
}

std::string encode_typing(std::string_view room, std::string_view user) {
  auto out = start_event("typing");
  append_field(out, "room", room);
  append_field(out, "user", user);
  out += '}';
  return out;
}

std::string encode_upload(std::string_view room, std::string_view file, std::string_view url,
                          std::string_view cid) {
  auto out = start_event("upload", 64 + url.size());
  append_field(out, "room", room);
  append_field(out, "file", file);
  append_field(out, "url", url);
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

namespace {

/// A page of messages answering a request: `history`, `search` (with its
/// query) or `thread` (with its root).
std::string encode_page(const char* type, std::string_view room, const char* key, std::string_view value,
                        const message_page& page) {
  std::size_t size = 128 + value.size();
  for (const auto& msg : page.messages)
    size += msg.frame->size() + 1;
  auto out = start_event(type, size);
  append_field(out, "room", room);
  if (key)
    append_field(out, key, value);
  out += ",\"messages\":";
  append_message_array(out, page.messages);
  out += ",\"more\":";
  out += page.more ? "true" : "false";
  out += '}';
  return out;
}

} // namespace

std::string encode_history(std::string_view room, const message_page& page) {
  return encode_page("history", room, nullptr, {}, page);
}

std::string encode_search(std::string_view room, std::string_view query, const message_page& page) {
  return encode_page("search", room, "query", query, page);
}

std::string encode_thread(std::string_view room, message_id root, const message_page& page) {
  return encode_page("thread", room, "root", root.to_string(), page);
}

std::string encode_error(error_code code, std::string_view reason, std::string_view cid) {
  auto out = start_event("error");
  append_field(out, "code", to_string(code));
  append_field(out, "reason", reason);
  if (!cid.empty())
    append_field(out, "cid", cid);
  out += '}';
  return out;
}

} // namespace chatnode

#include "node/files/s3_xml.hpp"

#include <charconv>
#include <ctime>
#include <optional>

namespace chatnode {

namespace {

/// The raw text of the first <name>...</name> in `xml` (not unescaped).
std::optional<std::string_view> element_text(std::string_view xml, std::string_view name) {
  std::string open = '<' + std::string{name} + '>';
  std::string close = "</" + std::string{name} + '>';
  auto start = xml.find(open);
  if (start == std::string_view::npos)
    return std::nullopt;
  start += open.size();
  auto end = xml.find(close, start);
  if (end == std::string_view::npos)
    return std::nullopt;
  return xml.substr(start, end - start);
}

std::string element(std::string_view xml, std::string_view name) {
  auto text = element_text(xml, name);
  return text ? xml_unescape(*text) : std::string{};
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

/// The character a reference's name ("amp", "#38", "#x26") stands for.
std::optional<std::string> reference(std::string_view name) {
  if (name == "amp")
    return "&";
  if (name == "lt")
    return "<";
  if (name == "gt")
    return ">";
  if (name == "quot")
    return "\"";
  if (name == "apos")
    return "'";
  if (name.size() < 2 || name[0] != '#')
    return std::nullopt;
  int base = 10;
  name.remove_prefix(1);
  if (name[0] == 'x' || name[0] == 'X') {
    base = 16;
    name.remove_prefix(1);
  }
  std::uint32_t code = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), code, base);
  if (error != std::errc{} || end != name.data() + name.size() || code == 0 || code > 0x10FFFF)
    return std::nullopt;
  std::string out;
  append_utf8(out, code);
  return out;
}

} // namespace

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto semicolon = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    // References are short: a far semicolon belongs to something else.
    if (semicolon != std::string_view::npos && semicolon - i <= 10) {
      if (auto character = reference(text.substr(i + 1, semicolon - i - 1))) {
        out += *character;
        i = semicolon;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

s3_error_text parse_s3_error(std::string_view xml) {
  return {element(xml, "Code"), element(xml, "Message")};
}

s3_listing parse_s3_listing(std::string_view xml) {
  s3_listing out;
  out.truncated = element(xml, "IsTruncated") == "true";
  out.next_continuation_token = element(xml, "NextContinuationToken");
  static constexpr std::string_view open = "<Contents>", close = "</Contents>";
  for (auto at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at)) {
    auto end = xml.find(close, at);
    if (end == std::string_view::npos)
      break;
    auto entry = xml.substr(at + open.size(), end - at - open.size());
    at = end + close.size();
    auto key = element_text(entry, "Key");
    if (!key)
      continue;
    s3_listed_object object;
    object.key = xml_unescape(*key);
    auto size = element(entry, "Size");
    std::from_chars(size.data(), size.data() + size.size(), object.size);
    object.last_modified = element(entry, "LastModified");
    object.etag = element(entry, "ETag");
    out.objects.push_back(std::move(object));
  }
  return out;
}

std::optional<std::int64_t> s3_time_seconds(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then fractions and a zone S3 always gives as Z.
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t length, int& out) {
    auto [end, error] = std::from_chars(text.data() + at, text.data() + at + length, out);
    return error == std::errc{} && end == text.data() + at + length;
  };
  std::tm t{};
  int year = 0, month = 0;
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, t.tm_mday) || !number(11, 2, t.tm_hour) ||
      !number(14, 2, t.tm_min) || !number(17, 2, t.tm_sec))
    return std::nullopt;
  if (month < 1 || month > 12 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 ||
      t.tm_sec > 60)
    return std::nullopt;
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  return static_cast<std::int64_t>(::timegm(&t));
}

} // namespace chatnode

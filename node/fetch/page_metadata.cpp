#include "node/fetch/page_metadata.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace chatnode {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/// Finds `needle` from `from`, ignoring ASCII case; npos when absent.
std::size_t ifind(std::string_view text, std::string_view needle, std::size_t from) {
  if (needle.empty() || text.size() < needle.size())
    return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= text.size(); ++i) {
    if (lower(text[i]) != lower(needle[0]))
      continue;
    if (iequals(text.substr(i, needle.size()), needle))
      return i;
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Text with character references decoded (numeric ones and the few named
/// ones pages put in titles) and whitespace folded to single spaces.
std::string decode_text(std::string_view raw) {
  static constexpr std::pair<std::string_view, std::string_view> named[] = {
    {"amp", "&"},        {"lt", "<"},         {"gt", ">"},         {"quot", "\""},       {"apos", "'"},
    {"nbsp", " "},       {"ndash", "\u2013"}, {"mdash", "\u2014"}, {"hellip", "\u2026"}, {"rsquo", "\u2019"},
    {"lsquo", "\u2018"}, {"rdquo", "\u201d"}, {"ldquo", "\u201c"}, {"copy", "\u00a9"},   {"middot", "\u00b7"},
  };
  std::string out;
  out.reserve(raw.size());
  bool space = false;
  auto put = [&](std::string_view piece) {
    for (char c : piece) {
      if (is_space(c)) {
        space = true;
        continue;
      }
      if (space && !out.empty())
        out += ' ';
      space = false;
      out += c;
    }
  };
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] != '&') {
      put(raw.substr(i, 1));
      ++i;
      continue;
    }
    auto end = raw.find(';', i);
    if (end == std::string_view::npos || end - i > 12) {
      put("&");
      ++i;
      continue;
    }
    auto name = raw.substr(i + 1, end - i - 1);
    std::string decoded;
    if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::uint32_t cp = 0;
      bool ok = name.size() > (hex ? 2u : 1u);
      for (char c : name.substr(hex ? 2 : 1)) {
        int digit = std::isdigit(static_cast<unsigned char>(c))           ? c - '0'
                    : hex && std::isxdigit(static_cast<unsigned char>(c)) ? lower(c) - 'a' + 10
                                                                          : -1;
        if (digit < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
      }
      if (ok)
        append_utf8(decoded, cp);
    } else {
      for (const auto& [n, v] : named)
        if (name == n)
          decoded = v;
    }
    if (decoded.empty()) {
      put("&");
      ++i;
      continue;
    }
    put(decoded);
    i = end + 1;
  }
  return out;
}

/// At most `limit` code points of valid UTF-8 (anything else dropped),
/// with an ellipsis when cut.
std::string cut(const std::string& text, std::size_t limit) {
  std::string out;
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (!valid || (len == 1 && c < 0x20)) {
      ++i;
      continue;
    }
    if (points == limit) {
      out += "\u2026";
      break;
    }
    out.append(text, i, len);
    ++points;
    i += len;
  }
  return out;
}

/// One tag's name and attributes, as the scan reads them.
struct tag {
  std::string name; ///< lower case; "/title" for an end tag
  std::vector<std::pair<std::string, std::string>> attributes;
  std::size_t end = 0; ///< just past '>'

  std::string_view get(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key)
        return v;
    return {};
  }
};

/// The tag starting at `at` ('<'); nullopt when it does not close.
std::optional<tag> read_tag(std::string_view html, std::size_t at) {
  tag t;
  std::size_t i = at + 1;
  if (i < html.size() && html[i] == '/') {
    t.name += '/';
    ++i;
  }
  while (i < html.size() && (std::isalnum(static_cast<unsigned char>(html[i])) || html[i] == '-'))
    t.name += lower(html[i++]);
  while (i < html.size() && html[i] != '>') {
    if (is_space(html[i]) || html[i] == '/') {
      ++i;
      continue;
    }
    std::string key;
    while (i < html.size() && !is_space(html[i]) && html[i] != '=' && html[i] != '>' && html[i] != '/')
      key += lower(html[i++]);
    while (i < html.size() && is_space(html[i]))
      ++i;
    std::string value;
    if (i < html.size() && html[i] == '=') {
      ++i;
      while (i < html.size() && is_space(html[i]))
        ++i;
      if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
        char quote = html[i++];
        auto close = html.find(quote, i);
        if (close == std::string_view::npos)
          return std::nullopt;
        value = html.substr(i, close - i);
        i = close + 1;
      } else {
        while (i < html.size() && !is_space(html[i]) && html[i] != '>')
          value += html[i++];
      }
    }
    if (!key.empty() && t.attributes.size() < 32)
      t.attributes.emplace_back(std::move(key), std::move(value));
  }
  if (i >= html.size())
    return std::nullopt;
  t.end = i + 1;
  return t;
}

/// The raw fields of the head, before decoding.
struct raw_fields {
  std::string og_title, og_description, og_site, og_image, title, description, charset;
};

raw_fields scan_head(std::string_view html) {
  raw_fields out;
  for (std::size_t i = html.find('<'); i != std::string_view::npos && i < html.size();
       i = html.find('<', i)) {
    if (html.compare(i, 4, "<!--") == 0) {
      auto end = html.find("-->", i + 4);
      if (end == std::string_view::npos)
        break;
      i = end + 3;
      continue;
    }
    auto t = read_tag(html, i);
    if (!t)
      break;
    i = t->end;
    if (t->name == "body" || t->name == "/head")
      break;
    if (t->name == "script" || t->name == "style" || t->name == "title" || t->name == "noscript") {
      // Raw text up to the matching end tag: a title's is kept.
      auto close = ifind(html, "</" + t->name, i);
      if (close == std::string_view::npos)
        break;
      if (t->name == "title" && out.title.empty())
        out.title = html.substr(i, close - i);
      i = close;
      continue;
    }
    if (t->name != "meta")
      continue;
    if (auto cs = t->get("charset"); !cs.empty() && out.charset.empty())
      out.charset = cs;
    auto key = std::string{t->get("property")};
    if (key.empty())
      key = t->get("name");
    std::transform(key.begin(), key.end(), key.begin(), lower);
    auto content = t->get("content");
    if (iequals(t->get("http-equiv"), "content-type") && out.charset.empty())
      out.charset = charset_of(content);
    auto keep = [&content](std::string& field) {
      if (field.empty())
        field = content;
    };
    if (key == "og:title" || key == "twitter:title")
      keep(out.og_title);
    else if (key == "og:description" || key == "twitter:description")
      keep(out.og_description);
    else if (key == "og:site_name")
      keep(out.og_site);
    else if (key == "og:image" || key == "og:image:url" || key == "og:image:secure_url" ||
             key == "twitter:image")
      keep(out.og_image);
    else if (key == "description")
      keep(out.description);
  }
  return out;
}

/// `text` from `charset` to UTF-8; UTF-8 (or unknown charsets) as it is.
std::string to_utf8(std::string_view text, const std::string& charset) {
  if (charset.empty() || iequals(charset, "utf-8") || iequals(charset, "utf8") ||
      iequals(charset, "us-ascii"))
    return std::string{text};
  iconv_t cd = iconv_open("UTF-8//IGNORE", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1))
    return std::string{text};
  std::string out(text.size() * 4 + 16, '\0');
  auto* in = const_cast<char*>(text.data());
  std::size_t in_left = text.size();
  char* dst = out.data();
  std::size_t out_left = out.size();
  while (in_left > 0) {
    if (iconv(cd, &in, &in_left, &dst, &out_left) != static_cast<std::size_t>(-1))
      break;
    if (in_left == 0 || out_left == 0)
      break;
    ++in; // a byte the charset cannot map: skipped
    --in_left;
  }
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

} // namespace

std::string charset_of(std::string_view content_type) {
  auto at = ifind(content_type, "charset=", 0);
  if (at == std::string_view::npos)
    return {};
  auto value = content_type.substr(at + 8);
  if (!value.empty() && (value[0] == '"' || value[0] == '\''))
    value.remove_prefix(1);
  std::string out;
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':'))
      break;
    if (out.size() == 40)
      return {};
    out += c;
  }
  return out;
}

page_metadata read_page_metadata(std::string_view html, std::string_view content_type) {
  auto raw = scan_head(html);
  auto charset = charset_of(content_type);
  if (charset.empty())
    charset = raw.charset;
  auto field = [&charset](const std::string& text, std::size_t limit) {
    return cut(decode_text(to_utf8(text, charset)), limit);
  };
  page_metadata out;
  out.title = field(raw.og_title.empty() ? raw.title : raw.og_title, max_preview_title);
  out.description =
    field(raw.og_description.empty() ? raw.description : raw.og_description, max_preview_description);
  out.site = field(raw.og_site, max_preview_site);
  auto image = decode_text(to_utf8(raw.og_image, charset));
  if (image.size() <= max_preview_image_url)
    out.image = image;
  return out;
}

} // namespace chatnode

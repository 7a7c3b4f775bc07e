#include "node/edge/file_download.hpp"

#include "actors/contracts/upload_ticket.hpp"
#include "node/edge/http_responses.hpp"
#include "node/files/byte_range.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/optional.hpp>

#include <algorithm>
#include <array>

namespace chatnode {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// A byte range of an open file as a response body.
struct file_range_body {
  struct value_type {
    beast::file file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
  public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, value_type& body)
      : body_(body) {}

    void init(beast::error_code& ec) {
      body_.file.seek(body_.offset, ec);
      remain_ = body_.length;
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, chunk_.size()));
      if (amount == 0) {
        ec = {};
        return boost::none;
      }
      auto n = body_.file.read(chunk_.data(), amount, ec);
      if (ec)
        return boost::none;
      if (n == 0) { // the file shrank under us
        ec = http::error::short_read;
        return boost::none;
      }
      remain_ -= n;
      return {{const_buffers_type{chunk_.data(), n}, remain_ > 0}};
    }

  private:
    value_type& body_;
    std::uint64_t remain_ = 0;
    std::array<char, 65536> chunk_{};
  };
};

bool attribute_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view{"!#$&+-.^_`|~"}.find(static_cast<char>(c)) != std::string_view::npos;
}

/// What is sent: the file itself or its thumbnail.
struct served {
  std::filesystem::path path;
  std::string type;        ///< Content-Type
  std::string disposition; ///< Content-Disposition
  std::string tag;         ///< ETag
};

served file_itself(const directory_store& store, const stored_file& file) {
  bool image = inline_image(file.mime);
  return {store.data_path(file.id), image ? file.mime : "application/octet-stream",
          content_disposition(image ? "inline" : "attachment", file.name), "\"" + file.sha256 + "\""};
}

served thumbnail_of(const directory_store& store, const stored_file& file) {
  return {store.thumb_path(file.id), file.thumb_mime, "inline", "\"" + file.sha256 + "-thumb\""};
}

template <class Body>
void file_headers(http::response<Body>& res, const served& what) {
  common_headers(res);
  res.set(http::field::content_type, what.type);
  res.set(http::field::content_disposition, what.disposition);
  // Whatever the bytes are, a browser runs nothing of them.
  res.set("Content-Security-Policy",
          "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'");
  // Revalidated each time (a cheap 304): a deleted file must stop showing.
  res.set(http::field::cache_control, "private, no-cache");
  res.set(http::field::etag, what.tag);
  res.set(http::field::accept_ranges, "bytes");
}

} // namespace

bool inline_image(std::string_view mime) {
  return mime == "image/png" || mime == "image/jpeg" || mime == "image/gif" || mime == "image/webp";
}

std::string content_disposition(std::string_view kind, std::string_view name) {
  // An ASCII fallback (quotes and controls replaced) and the exact name, percent-encoded.
  std::string fallback, exact;
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : name) {
    fallback += (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') ? '_' : static_cast<char>(c);
    if (attribute_char(c)) {
      exact += static_cast<char>(c);
    } else {
      exact += '%';
      exact += hex[c >> 4];
      exact += hex[c & 0xF];
    }
  }
  return std::string{kind} + "; filename=\"" + fallback + "\"; filename*=UTF-8''" + exact;
}

http::message_generator file_download(const http::request<http::string_body>& req, std::string_view path,
                                      const directory_store& store) {
  auto rest = path.substr(files_prefix.size());
  bool thumb = rest.starts_with(thumb_segment);
  if (thumb)
    rest.remove_prefix(thumb_segment.size());
  auto id = rest.substr(0, rest.find('/'));
  auto not_found = [&] { return text_response(req, http::status::not_found, "no such file\n"); };
  if (!valid_file_id(id))
    return not_found();
  auto file = store.describe(id);
  if (!file || (thumb && file->thumb_mime.empty()))
    return not_found();
  auto what = thumb ? thumbnail_of(store, *file) : file_itself(store, *file);
  if (req[http::field::if_none_match] == what.tag) {
    http::response<http::empty_body> res{http::status::not_modified, req.version()};
    file_headers(res, what);
    res.keep_alive(req.keep_alive());
    return res;
  }
  file_range_body::value_type body;
  beast::error_code ec;
  body.file.open(what.path.c_str(), beast::file_mode::scan, ec);
  if (ec)
    return not_found();
  auto size = body.file.size(ec);
  if (ec)
    return not_found();
  // If-Range naming another version: the whole file, not a piece of the wrong one.
  auto if_range = req[http::field::if_range];
  auto range =
    if_range.empty() || if_range == what.tag ? read_range(req[http::field::range], size) : range_answer{};
  if (range.verdict == range_verdict::unsatisfiable) {
    http::response<http::empty_body> res{http::status::range_not_satisfiable, req.version()};
    file_headers(res, what);
    res.set(http::field::content_range, "bytes */" + std::to_string(size));
    res.content_length(0);
    res.keep_alive(req.keep_alive());
    return res;
  }
  bool partial = range.verdict == range_verdict::partial;
  body.offset = partial ? range.first : 0;
  body.length = partial ? range.last - range.first + 1 : size;
  auto status = partial ? http::status::partial_content : http::status::ok;
  auto length = body.length;
  auto offset = body.offset;
  http::response<file_range_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(status, req.version())};
  file_headers(res, what);
  if (partial)
    res.set(http::field::content_range, "bytes " + std::to_string(offset) + "-" +
                                          std::to_string(offset + length - 1) + "/" + std::to_string(size));
  res.keep_alive(req.keep_alive());
  res.content_length(length);
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> head{status, req.version()};
    for (const auto& field : res)
      head.set(field.name_string(), field.value());
    head.keep_alive(req.keep_alive());
    return head;
  }
  return res;
}

} // namespace chatnode

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
  std::string type;        ///< Content-Type
  std::string disposition; ///< Content-Disposition
  std::string tag;         ///< ETag
};

served file_itself(const stored_file& file) {
  bool image = inline_image(file.mime);
  return {image ? file.mime : "application/octet-stream",
          content_disposition(image ? "inline" : "attachment", file.name), "\"" + file.sha256 + "\""};
}

served thumbnail_of(const stored_file& file) {
  return {file.thumb_mime, "inline", "\"" + file.sha256 + "-thumb\""};
}

/// What a download request asks, kept while the store answers.
struct download_request {
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
  std::string if_none_match;
  std::string if_range;
  std::string range;
};

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

namespace {

template <class Body>
void shape(http::response<Body>& res, const download_request& req) {
  res.version(req.version);
  res.keep_alive(req.keep_alive);
}

http::message_generator plain(const download_request& req, http::status status, std::string body) {
  response_shape how{req.version, req.keep_alive, false};
  return text_response(how, status, std::move(body));
}

/// The answer once the store described the file.
download_answer answer_for(const download_request& req, file_store& store, const stored_file& file,
                           bool thumb) {
  download_answer answer;
  auto what = thumb ? thumbnail_of(file) : file_itself(file);
  if (req.if_none_match == what.tag) {
    http::response<http::empty_body> res{http::status::not_modified, req.version};
    file_headers(res, what);
    shape(res, req);
    answer.whole.emplace(std::move(res));
    return answer;
  }
  // The size: the description's, or the thumbnail file's on this machine.
  auto local = store.local_path(file.id, thumb);
  file_range_body::value_type body;
  std::uint64_t size = thumb ? file.thumb_size : file.size;
  if (!local.empty()) {
    beast::error_code ec;
    body.file.open(local.c_str(), beast::file_mode::scan, ec);
    if (!ec)
      size = body.file.size(ec);
    if (ec) {
      answer.whole.emplace(plain(req, http::status::not_found, "no such file\n"));
      return answer;
    }
  }
  // If-Range naming another version: the whole file, not a piece of the wrong one.
  auto range =
    req.if_range.empty() || req.if_range == what.tag ? read_range(req.range, size) : range_answer{};
  if (range.verdict == range_verdict::unsatisfiable) {
    http::response<http::empty_body> res{http::status::range_not_satisfiable, req.version};
    file_headers(res, what);
    res.set(http::field::content_range, "bytes */" + std::to_string(size));
    res.content_length(0);
    shape(res, req);
    answer.whole.emplace(std::move(res));
    return answer;
  }
  bool partial = range.verdict == range_verdict::partial;
  auto offset = partial ? range.first : 0;
  auto length = partial ? range.last - range.first + 1 : size;
  auto status = partial ? http::status::partial_content : http::status::ok;
  http::response<http::empty_body> head{status, req.version};
  file_headers(head, what);
  if (partial)
    head.set(http::field::content_range, "bytes " + std::to_string(offset) + "-" +
                                           std::to_string(offset + length - 1) + "/" + std::to_string(size));
  shape(head, req);
  head.content_length(length);
  if (req.head) {
    answer.whole.emplace(std::move(head));
    return answer;
  }
  if (!local.empty()) {
    body.offset = offset;
    body.length = length;
    http::response<file_range_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                        std::make_tuple(status, req.version)};
    for (const auto& field : head)
      res.set(field.name_string(), field.value());
    shape(res, req);
    res.content_length(length);
    answer.whole.emplace(std::move(res));
    return answer;
  }
  // In the store elsewhere: the header now, the bytes read and streamed after it.
  answer.header.base() = head.base();
  answer.id = file.id;
  answer.thumb = thumb;
  answer.offset = offset;
  answer.length = length;
  return answer;
}

} // namespace

void file_download(const http::request<http::string_body>& req, std::string_view path, file_store& store,
                   std::atomic<std::uint64_t>& store_errors, std::function<void(download_answer)> done) {
  download_request asked{req.version(),
                         req.keep_alive(),
                         req.method() == http::verb::head,
                         std::string{req[http::field::if_none_match]},
                         std::string{req[http::field::if_range]},
                         std::string{req[http::field::range]}};
  auto rest = path.substr(files_prefix.size());
  bool thumb = rest.starts_with(thumb_segment);
  if (thumb)
    rest.remove_prefix(thumb_segment.size());
  auto id = std::string{rest.substr(0, rest.find('/'))};
  if (!valid_file_id(id)) {
    download_answer answer;
    answer.whole.emplace(plain(asked, http::status::not_found, "no such file\n"));
    done(std::move(answer));
    return;
  }
  store.describe(id, [asked, &store, &store_errors, thumb, done = std::move(done)](
                       std::optional<stored_file> file, store_error error) {
    download_answer answer;
    if (!error.empty()) {
      store_errors.fetch_add(1, std::memory_order_relaxed);
      answer.whole.emplace(
        plain(asked, http::status::service_unavailable, "the file store did not answer: try again\n"));
    } else if (!file || (thumb && file->thumb_mime.empty())) {
      answer.whole.emplace(plain(asked, http::status::not_found, "no such file\n"));
    } else {
      answer = answer_for(asked, store, *file, thumb);
    }
    done(std::move(answer));
  });
}

} // namespace chatnode

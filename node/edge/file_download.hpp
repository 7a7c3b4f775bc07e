#pragma once
// GET and HEAD of a stored file (`/files/<id>/<name>`) or of an image's
// thumbnail (`/files/thumb/<id>`): images inline with
// their type, everything else as an attachment of type
// application/octet-stream; never HTML inline (nosniff, CSP sandbox); one
// byte range honoured; an ETag from the content's hash. A store on this
// machine's disk is served from the file; another is read piece by piece
// and streamed (file_stream.hpp).

#include "node/files/file_store.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string_view>

namespace chatnode {

inline constexpr std::string_view files_prefix = "/files/";
/// `/files/thumb/<id>`: an image's thumbnail.
inline constexpr std::string_view thumb_segment = "thumb/";

/// How a download is answered: whole, or by a header (its length set) and
/// bytes read from the store and streamed after it.
struct download_answer {
  std::optional<boost::beast::http::message_generator> whole;
  boost::beast::http::response<boost::beast::http::buffer_body> header;
  std::string id;
  bool thumb = false;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// Answers a download request for `path` (which starts with files_prefix);
/// `done` runs once, on any thread. `store_errors` counts the store's failures.
void file_download(const boost::beast::http::request<boost::beast::http::string_body>& req,
                   std::string_view path, file_store& store, std::atomic<std::uint64_t>& store_errors,
                   std::function<void(download_answer)> done);

/// True for the image types shown inline (PNG, JPEG, GIF, WebP).
bool inline_image(std::string_view mime);

/// A Content-Disposition value for `name` (RFC 6266, with RFC 8187's UTF-8 form).
std::string content_disposition(std::string_view kind, std::string_view name);

} // namespace chatnode

#pragma once
// GET and HEAD of a stored file (`/files/<id>/<name>`) or of an image's
// thumbnail (`/files/thumb/<id>`): images inline with
// their type, everything else as an attachment of type
// application/octet-stream; never HTML inline (nosniff, CSP sandbox); one
// byte range honoured; an ETag from the content's hash.

#include "node/files/directory_store.hpp"

#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string_view>

namespace chatnode {

inline constexpr std::string_view files_prefix = "/files/";
/// `/files/thumb/<id>`: an image's thumbnail.
inline constexpr std::string_view thumb_segment = "thumb/";

/// The answer to a download request for `path` (which starts with files_prefix).
boost::beast::http::message_generator file_download(
  const boost::beast::http::request<boost::beast::http::string_body>& req, std::string_view path,
  const directory_store& store);

/// True for the image types shown inline (PNG, JPEG, GIF, WebP).
bool inline_image(std::string_view mime);

/// A Content-Disposition value for `name` (RFC 6266, with RFC 8187's UTF-8 form).
std::string content_disposition(std::string_view kind, std::string_view name);

} // namespace chatnode

#pragma once
// An upload ticket: what an `upload` request was granted, sealed with the
// deployment's upload secret into the path the client PUTs the bytes to.
// Any node holding the secret can take the PUT without asking another one;
// the store's create-once rule makes each ticket good for one upload.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

inline constexpr std::int64_t upload_ticket_seconds = 600; ///< a ticket is good for 10 minutes
inline constexpr std::size_t max_file_name_bytes = 255;
inline constexpr std::size_t max_mime_bytes = 127;
inline constexpr std::size_t max_ticket_chars = 2048;

struct upload_ticket {
  std::string file; ///< the file's id: 128 random bits, base64url
  std::string user;
  std::string room;
  std::string name; ///< as the client named it
  std::uint64_t size = 0;
  std::string mime;
  std::int64_t expires = 0; ///< seconds since the epoch
};

/// A new file id: 16 random bytes in base64url (22 characters).
std::string new_file_id();
/// True for what new_file_id makes: 22 characters of base64url.
bool valid_file_id(std::string_view id);

/// (1.2) A link preview's image, kept as a file: its path on the node, and
/// the file id a path names (empty when it names none).
std::string preview_image_path(std::string_view file, std::string_view mime);
std::string file_of_preview_image(std::string_view path);

/// The ticket as URL-safe text: base64url(JSON) "." base64url(HMAC-SHA256).
std::string seal_ticket(const upload_ticket& ticket, std::string_view secret);
/// The ticket, when `sealed` is one this secret made and it has not expired.
std::optional<upload_ticket> open_ticket(std::string_view sealed, std::string_view secret,
                                         std::int64_t now_seconds);

} // namespace chatnode

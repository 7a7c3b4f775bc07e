#pragma once
// Maps request targets to files under the web root. Pure: no sockets, so
// traversal attempts are tested directly.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

/// Decodes %XX escapes; nullopt on a malformed escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

/// The file a request target names under `root` (an absolute, canonical
/// directory), or nullopt when the target is malformed, tries to leave the
/// root, or names nothing. "/" and directories map to their index.html.
std::optional<std::filesystem::path> resolve_static_path(const std::filesystem::path& root,
                                                         std::string_view target);

/// Content-Type for a file name, by extension.
std::string_view mime_type(std::string_view path);

} // namespace chatnode

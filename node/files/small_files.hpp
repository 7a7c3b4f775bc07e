#pragma once
// Files small enough to hold in memory at once (a link preview's image, a
// few tens of KiB): written to the store in one piece, and copied within
// it under a new id.

#include "node/files/file_store.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace chatnode {

/// The most copy_small_file reads of a file.
inline constexpr std::size_t max_small_file = 1024 * 1024;

/// Stores `bytes` as the file `description.id` (its size and sha256 set
/// from them) and makes it visible; `done` runs once, on any thread.
void store_small_file(file_store& store, stored_file description, std::shared_ptr<const std::string> bytes,
                      std::function<void(store_error)> done);

/// Copies the file `from` (at most max_small_file bytes) to a new file
/// `to`, with the same description but its id, its creation time and not
/// sent; `done` runs once, on any thread.
void copy_small_file(file_store& store, const std::string& from, const std::string& to,
                     std::function<void(store_error)> done);

} // namespace chatnode

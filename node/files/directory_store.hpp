#pragma once
// The file store in a directory (the embedded default's, or a volume every
// node mounts): each file is `<root>/<2 chars>/<id>` with its description
// beside it in `<id>.json`. A file is written once: creating it while it
// exists or is being written fails, which makes an upload ticket good for
// one upload. Writes and reads are the page cache's: like the static files,
// they run on the I/O thread that moves the bytes.

#include "node/files/file_store.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

/// A file being written; removed unless committed.
class file_writer {
public:
  file_writer(int fd, std::filesystem::path part, std::filesystem::path data, std::filesystem::path meta);
  file_writer(file_writer&& other) noexcept;
  file_writer& operator=(file_writer&&) = delete;
  ~file_writer();

  /// False when the disk refused (full, gone).
  bool append(const void* bytes, std::size_t size);
  /// Makes the file and its description visible under its id.
  bool commit(const stored_file& description);
  /// Where the bytes are while they are written.
  const std::filesystem::path& part_path() const { return part_; }

private:
  void discard();

  int fd_ = -1;
  std::filesystem::path part_, data_, meta_;
  bool done_ = false;
};

class directory_store {
public:
  explicit directory_store(std::filesystem::path root);

  /// Creates the root if needed; an error message when it cannot be written.
  std::string prepare() const;
  /// Writes and removes a small file: an error message when the store cannot
  /// take one (gone, read-only, full). May wait on a network volume: not
  /// for an I/O or actor thread.
  std::string probe() const;
  /// A writer for a new file; none when `id` exists, is being written, or
  /// the disk refused.
  std::optional<file_writer> create(std::string_view id) const;
  /// The file's description; none when there is no such (whole) file.
  std::optional<stored_file> describe(std::string_view id) const;
  /// Where the file's bytes are.
  std::filesystem::path data_path(std::string_view id) const;
  /// Where its thumbnail is written and read.
  std::filesystem::path thumb_path(std::string_view id) const;
  /// Replaces a stored file's description (an image's facts added); false
  /// when the file is gone.
  bool update(const stored_file& description) const;
  /// Notes that the file was shared in a message; false when it is gone.
  bool mark_sent(std::string_view id) const;
  /// Removes files never sent that were stored before `unsent_cutoff`
  /// (seconds since the epoch) and uploads left unfinished since then, and
  /// sent files stored before `sent_cutoff` (0: none); returns how many went.
  std::size_t sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff = 0) const;
  /// Removes the file, its thumbnail and its description; false when there was none.
  bool remove(std::string_view id) const;

private:
  std::filesystem::path folder(std::string_view id) const;

  std::filesystem::path root_;
};

} // namespace chatnode

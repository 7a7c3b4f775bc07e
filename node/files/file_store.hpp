#pragma once
// The file store every node shares (PROTOCOL.md, "Files and images"): a
// directory (directory_store.hpp) or an S3-compatible bucket (s3_store.hpp),
// chosen by `[files] store`. The node sees only this.
//
// Every call returns at once; its completion runs once, on any thread (the
// caller posts it to where it needs it), maybe before the call returns.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatnode {

/// What the store knows of a file.
struct stored_file {
  std::string id;
  std::string user; ///< who uploaded it
  std::string room; ///< the room it was uploaded to
  std::string name;
  std::string mime;
  std::uint64_t size = 0;
  std::string sha256;       ///< hex
  std::int64_t created = 0; ///< seconds since the epoch
  int width = 0;            ///< an image's, as displayed (0: not an image, or unknown)
  int height = 0;
  std::string thumb_mime; ///< the thumbnail's type; empty: none
  std::uint64_t thumb_size = 0;
  bool sent = false; ///< shared in a message: kept while the message is
};

/// The description as the stores keep it (JSON), and back; none when `text` is not one.
std::string describe_as_json(const stored_file& file);
std::optional<stored_file> description_from_json(std::string_view text);

/// Why a call failed; empty: it did not.
using store_error = std::string;

/// A file being written: its bytes in order, then the description that makes
/// it visible under its id. Dropped before its commit, it leaves nothing.
class store_writer {
public:
  virtual ~store_writer() = default;
  /// Writes the next bytes, which stay the caller's and unchanged until
  /// `done` runs; one write at a time, each after the last one's `done`.
  virtual void append(const char* bytes, std::size_t size, std::function<void(store_error)> done) = 0;
  /// After the last byte: the bytes on this machine's disk, for the image
  /// workers (asked for at create); and where they may write its thumbnail.
  virtual std::filesystem::path local_copy() const = 0;
  virtual std::filesystem::path thumbnail_path() const = 0;
  /// Makes the file visible, its thumbnail too when the description has a
  /// thumb_mime. `used`: another upload of the same id got there first.
  virtual void commit(const stored_file& description, std::function<void(store_error, bool used)> done) = 0;
};

class file_store {
public:
  virtual ~file_store() = default;

  /// A writer for a new file of `size` bytes; none, with no error, when the
  /// id exists already (a ticket is good for one upload). `local_copy`:
  /// keep the bytes on this machine's disk too until the writer goes.
  virtual void create(const std::string& id, std::uint64_t size, const std::string& mime, bool local_copy,
                      std::function<void(std::shared_ptr<store_writer>, store_error)> done) = 0;
  /// The file's description; none when there is no such (whole) file.
  virtual void describe(const std::string& id,
                        std::function<void(std::optional<stored_file>, store_error)> done) = 0;
  /// Where the file's bytes (or its thumbnail) are on this machine, when
  /// they are: served from there. Empty: read them with read().
  virtual std::filesystem::path local_path(std::string_view id, bool thumb) const = 0;
  /// Bytes [offset, offset + length) of the file or of its thumbnail.
  virtual void read(const std::string& id, bool thumb, std::uint64_t offset, std::uint64_t length,
                    std::function<void(std::string, store_error)> done) = 0;
  /// How many bytes read() had best ask for at once.
  virtual std::size_t read_size() const = 0;
  /// Notes that the file was shared in a message: kept from now on.
  virtual void mark_sent(const std::string& id) = 0;
  /// Removes the file, its thumbnail and its description.
  virtual void remove(const std::string& id) = 0;
  /// Removes files never sent that were stored before `unsent_cutoff`
  /// (seconds since the epoch) and uploads left unfinished since then, and
  /// sent files stored before `sent_cutoff` (0: none); `done` gets how many went.
  virtual void sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff,
                     std::function<void(std::size_t)> done) = 0;
  /// Writes and removes a small object: why the store cannot take one.
  virtual void probe(std::function<void(store_error)> done) = 0;
  /// Ends the store's own work: no completion runs after this returns.
  virtual void stop() {}
};

} // namespace chatnode

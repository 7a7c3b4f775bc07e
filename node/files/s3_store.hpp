#pragma once
// The file store (file_store.hpp) in an S3-compatible bucket. A file is
// four objects: `<id>` its bytes, `<id>.json` its description (written
// last: a file is visible once it is there), `<id>.thumb` an image's
// thumbnail, `<id>.sent` once it is shared in a message (so that the sweep
// finds unsent uploads from a listing, without reading every description).
//
// Requests run on a thread of the store's own, so that uploads and
// downloads never hold up an I/O thread's chat. An image's bytes are also
// spooled to this machine's disk while they arrive, for the thumbnailer,
// and removed once the upload is over.
//
// A ticket is good for one upload: create() refuses an id whose
// description exists. Two uploads of one ticket at the same moment (only
// its holder can try that) both reach the bucket; the last one wins.

#include "node/files/file_store.hpp"
#include "node/files/s3_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>

namespace chatnode {

class s3_store : public file_store {
public:
  /// Throws std::invalid_argument when the endpoint does not parse.
  s3_store(s3_config config, std::filesystem::path spool);
  ~s3_store() override;

  void create(const std::string& id, std::uint64_t size, const std::string& mime, bool local_copy,
              std::function<void(std::shared_ptr<store_writer>, store_error)> done) override;
  void describe(const std::string& id,
                std::function<void(std::optional<stored_file>, store_error)> done) override;
  std::filesystem::path local_path(std::string_view, bool) const override { return {}; }
  void read(const std::string& id, bool thumb, std::uint64_t offset, std::uint64_t length,
            std::function<void(std::string, store_error)> done) override;
  std::size_t read_size() const override { return 1 << 20; }
  void mark_sent(const std::string& id) override;
  void remove(const std::string& id) override;
  void sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff,
             std::function<void(std::size_t)> done) override;
  void probe(std::function<void(store_error)> done) override;
  /// Stops the store's thread; requests still in flight are dropped.
  void stop() override;

private:
  /// Deletes the bytes of an upload that did not become a file, a moment later.
  void forget_later(std::string key);

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<s3_client> client_;
  std::filesystem::path spool_;
  std::thread thread_;
};

} // namespace chatnode

#pragma once
// The file store (file_store.hpp) in a directory: directory_store's files,
// every completion run before the call returns. A file's bytes are served
// from the disk where they lie.

#include "node/files/directory_store.hpp"
#include "node/files/file_store.hpp"

namespace chatnode {

class directory_file_store : public file_store {
public:
  explicit directory_file_store(std::filesystem::path root)
    : store_(std::move(root)) {}

  void create(const std::string& id, std::uint64_t size, const std::string& mime, bool local_copy,
              std::function<void(std::shared_ptr<store_writer>, store_error)> done) override;
  void describe(const std::string& id,
                std::function<void(std::optional<stored_file>, store_error)> done) override;
  std::filesystem::path local_path(std::string_view id, bool thumb) const override;
  void read(const std::string& id, bool thumb, std::uint64_t offset, std::uint64_t length,
            std::function<void(std::string, store_error)> done) override;
  std::size_t read_size() const override { return 64 * 1024; }
  void mark_sent(const std::string& id) override { store_.mark_sent(id); }
  void remove(const std::string& id) override { store_.remove(id); }
  void sweep(std::int64_t unsent_cutoff, std::int64_t sent_cutoff,
             std::function<void(std::size_t)> done) override {
    done(store_.sweep(unsent_cutoff, sent_cutoff));
  }
  void probe(std::function<void(store_error)> done) override { done(store_.probe()); }

  const directory_store& store() const { return store_; }

private:
  directory_store store_;
};

} // namespace chatnode

#include "node/files/small_files.hpp"

#include "node/files/s3_signing.hpp"

#include <chrono>

namespace chatnode {

void store_small_file(file_store& store, stored_file description, std::shared_ptr<const std::string> bytes,
                      std::function<void(store_error)> done) {
  description.size = bytes->size();
  description.sha256 = sha256_hex(*bytes);
  // Taken before the completion takes the bytes along.
  auto id = description.id;
  auto mime = description.mime;
  auto size = bytes->size();
  store.create(id, size, mime, false,
               [description = std::move(description), bytes = std::move(bytes), done = std::move(done)](
                 std::shared_ptr<store_writer> writer, store_error error) mutable {
                 if (!error.empty() || !writer) {
                   done(error.empty() ? "the file exists already" : error);
                   return;
                 }
                 // The writer lives until its commit answers.
                 auto* w = writer.get();
                 w->append(
                   bytes->data(), bytes->size(),
                   [writer = std::move(writer), bytes, description = std::move(description),
                    done = std::move(done)](store_error error) mutable {
                     if (!error.empty()) {
                       done(error);
                       return;
                     }
                     auto* w = writer.get();
                     w->commit(description, [writer = std::move(writer), done = std::move(done)](
                                              store_error error, bool used) {
                       done(!error.empty() ? error : used ? "the file exists already" : store_error{});
                     });
                   });
               });
}

void copy_small_file(file_store& store, const std::string& from, const std::string& to,
                     std::function<void(store_error)> done) {
  store.describe(from, [&store, from, to, done = std::move(done)](std::optional<stored_file> found,
                                                                  store_error error) mutable {
    if (!found) {
      done(error.empty() ? "no such file" : error);
      return;
    }
    if (found->size > max_small_file) {
      done("too large to copy in one piece");
      return;
    }
    auto size = found->size;
    store.read(from, false, 0, size,
               [&store, description = std::move(*found), to, done = std::move(done)](
                 std::string bytes, store_error error) mutable {
                 if (!error.empty() || bytes.size() != description.size) {
                   done(error.empty() ? "the file's bytes did not all come" : error);
                   return;
                 }
                 description.id = to;
                 description.sent = false;
                 description.created = std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
                 store_small_file(store, std::move(description),
                                  std::make_shared<const std::string>(std::move(bytes)), std::move(done));
               });
  });
}

} // namespace chatnode

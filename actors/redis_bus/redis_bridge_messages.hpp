#pragma once
// The Redis bridge's messages: storing a message or a change, publishing it
// once its replicas have it, read positions, pages of history, and the
// snapshot a member entering a room starts from. It keeps no state: all of
// it is in Redis.

#include "actors/redis_bus/redis_bridge_feed.hpp"
#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_directory.hpp"
#include "actors/redis_bus/redis_bridge_files.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace chatnode::bridge {

using snapshot_promise = caf::typed_response_promise<room_snapshot>;
using store_promise = caf::typed_response_promise<store_result>;

/// The keys snapshot.lua reads.
std::vector<std::string> snapshot_keys(const redis_keys& keys, const std::string& room);

class message_store {
public:
  message_store(bridge_core& core, redis_calls& calls, entry_feed& feed, directory_writer& directory,
                file_keeper& files)
    : core_(core),
      calls_(calls),
      feed_(feed),
      directory_(directory),
      files_(files) {}

  /// Answers a join's query with the room's snapshot.
  void answer_snapshot(const std::string& room, const recent_query& query, snapshot_promise promise);
  /// Publishes a stored entry once it reached the replicas, then answers.
  void publish_replicated(const std::string& room, store_result result, const std::string& previous,
                          store_promise promise);

  auto handlers() {
    return std::make_tuple(
      [this](store_atom, const store_request& req) -> caf::result<store_result> { return store(req); },
      [this](history_atom, const history_query& query) -> caf::result<message_page> {
        return history(query);
      },
      [this](read_atom, const read_request& req) -> caf::result<read_result> { return mark_read(req); },
      [this](threads_atom, const threads_query& query) -> caf::result<followed_threads> {
        return threads(query);
      });
  }

private:
  caf::result<store_result> store(const store_request& req);
  /// What store.lua answered: the result, published first when replicated.
  void on_stored(const store_request& req, const redis_reply& r, store_promise promise);
  /// A message or change store.lua stored just now: counted, noted and told.
  store_result stored_new(const store_request& req, const redis_reply& r);
  caf::result<message_page> history(const history_query& query);
  /// A page of a thread (query.thread), from its list of messages.
  caf::result<message_page> thread_page(const history_query& query);
  caf::result<read_result> mark_read(const read_request& req);
  /// (1.2) A follower's read position in a thread (req.root).
  caf::result<read_result> mark_thread_read(const read_request& req);
  /// (1.2) The threads of a room a user follows.
  caf::result<followed_threads> threads(const threads_query& query);
  std::optional<room_snapshot> decode_snapshot(const std::string& room, const recent_query& query,
                                               const redis_reply& r) const;

  bridge_core& core_;
  redis_calls& calls_;
  entry_feed& feed_;
  directory_writer& directory_;
  file_keeper& files_;
};

} // namespace chatnode::bridge

#include "actors/redis_bus/redis_bridge_files.hpp"

#include "actors/contracts/signing.hpp"
#include "actors/redis_bus/redis_entries.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace chatnode::bridge {

void file_keeper::fetch_secret() {
  if (!active() || !core_.settings.ticket_secret)
    return;
  auto mine = random_bytes(32);
  // SET NX GET: the value Redis held, or nil when it held none and took ours.
  calls_.send(redis_call::command({"SET", core_.keys.upload_secret(), mine, "NX", "GET"}),
              [this, secret = core_.settings.ticket_secret, mine](redis_reply r) {
                if (r.type == redis_reply::kind::nil)
                  secret->set(mine);
                else if (r.type == redis_reply::kind::string && r.str.size() >= 16)
                  secret->set(r.str);
                else if (!secret->get())
                  retry_secret_soon();
              });
}

void file_keeper::retry_secret_soon() {
  // Its shard not connected yet, say: the node is not ready until it has
  // the secret, so it asks again well before the next heartbeat.
  if (std::exchange(retry_pending_, true))
    return;
  calls_.after(std::chrono::milliseconds{200}, [this] {
    retry_pending_ = false;
    if (calls_.command_up())
      fetch_secret();
  });
}

caf::result<bool> file_keeper::reserve(const std::string& user, std::uint64_t bytes, std::uint64_t limit) {
  if (!active())
    return true;
  auto day =
    std::chrono::duration_cast<std::chrono::hours>(std::chrono::system_clock::now().time_since_epoch())
      .count() /
    24;
  auto key = core_.keys.upload_quota(user, day);
  auto amount = std::to_string(bytes);
  // INCRBY counts at once on every node; past the limit it is taken back.
  // Two users' concurrent tries at the edge may both be refused, never both let through.
  return calls_.answer_then<bool>(
    redis_call::command({"INCRBY", key, amount}),
    [this, key, amount, bytes, limit](redis_reply r, caf::typed_response_promise<bool> promise) mutable {
      if (r.type != redis_reply::kind::integer) {
        promise.deliver(redis_failure(r.str));
        return;
      }
      auto total = static_cast<std::uint64_t>(std::max<long long>(r.integer, 0));
      if (total > limit) {
        calls_.send_and_forget({"DECRBY", key, amount});
        promise.deliver(false);
        return;
      }
      if (total == bytes) // the day's first: the key goes once the day is surely over
        calls_.send_and_forget({"EXPIRE", key, std::to_string(2 * 86400)});
      promise.deliver(true);
    });
}

void file_keeper::settle(const std::vector<std::string>& sent, const std::vector<std::string>& gone) {
  if (!active())
    return;
  std::vector<std::string> removed;
  for (const auto& field : gone)
    for (auto& f : files_of_field(field))
      removed.push_back(std::move(f.file));
  if (!removed.empty())
    core_.settings.files->remove(removed);
  if (!sent.empty())
    core_.settings.files->mark_sent(sent);
}

} // namespace chatnode::bridge

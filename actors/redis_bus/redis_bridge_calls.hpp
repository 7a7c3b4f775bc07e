#pragma once
// The Redis bridge's calls: commands and scripts over the command link, each
// reply handed back on the actor; the state of both links; work for later;
// and the one way a request is answered from Redis.

#include "actors/redis_bus/redis_bridge_core.hpp"

#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chatnode::bridge {

/// A Lua script and its SHA-1, by which Redis caches it (EVALSHA).
struct lua_script {
  explicit lua_script(const char* text);
  std::string source;
  std::string sha;
};

/// The scripts of actors/redis_bus/lua/.
namespace scripts {
extern const lua_script store, replicated, snapshot, catch_up, archived, history, thread, read, thread_read,
  threads, push_keep, push_decide, push_away, push_level, push_owe, push_claim, push_settle, admit, moderate,
  hook_claim, hook_move, directory, presence, refresh;
} // namespace scripts

/// One thing for Redis to do: a script, run by its SHA, or a plain command.
struct redis_call {
  /// With `replicas`, answered once the script's writes reached them.
  static redis_call run_script(const lua_script& s, std::vector<std::string> keys,
                               std::vector<std::string> args, int replicas = 0) {
    return {&s, std::move(keys), std::move(args), replicas};
  }
  static redis_call command(std::vector<std::string> args) { return {nullptr, {}, std::move(args), 0}; }

  const lua_script* script; ///< none: `args` is a command
  std::vector<std::string> keys;
  std::vector<std::string> args; ///< a script's ARGV, or the command and its arguments
  int replicas;
};

/// Whether a reply is an array of at least `size` elements.
inline bool is_array(const redis_reply& r, std::size_t size = 0) {
  return r.type == redis_reply::kind::array && r.elements.size() >= size;
}

/// What a request fails with when Redis did not answer as expected.
inline caf::error redis_failure(const std::string& text) {
  return caf::make_error(caf::sec::runtime_error, "redis: " + text);
}

/// A reply callback that delivers to `promise` what `decode` makes of the
/// reply, or, when it makes nothing of it (an error, a reply of another
/// shape), fails the request with the reply's text.
template <class Promise, class Decode>
redis_callback deliver_to(Promise promise, Decode decode) {
  return [promise = std::move(promise), decode = std::move(decode)](redis_reply r) mutable {
    if (auto answer = decode(r))
      promise.deliver(std::move(*answer));
    else
      promise.deliver(redis_failure(r.str));
  };
}

class redis_calls {
public:
  explicit redis_calls(bridge_core& core)
    : core_(core) {}

  /// Takes the two links (neither up yet) and subscribes to the people channel.
  void start(std::shared_ptr<redis_port> commands, std::shared_ptr<redis_port> subscriber);
  /// A link came up or went down: the process's Redis readiness follows.
  void set_link(redis_link link, bool up, const std::string& reason);
  bool command_up() const { return command_up_; }

  void subscribe(const std::string& channel) { subscriber_->subscribe({channel}); }
  void unsubscribe(const std::string& channel) { subscriber_->unsubscribe({channel}); }

  /// Sends a command or runs a script; `k` runs on the actor with the reply
  /// (an error reply when the link is down). A script Redis has not cached
  /// is sent again by its source.
  void send(redis_call call, redis_callback k);
  /// Sends a command whose reply nobody waits for.
  void send_and_forget(std::vector<std::string> command) {
    send(redis_call::command(std::move(command)), [](redis_reply) {});
  }
  /// Runs `f` on the actor after `delay`.
  void after(std::chrono::milliseconds delay, std::function<void()> f);

  /// Answers the request being handled from one call: with what `decode`
  /// (a reply -> std::optional<T>) makes of the reply, or with its error.
  template <class T, class Decode>
  caf::typed_response_promise<T> answer(redis_call call, Decode decode) {
    auto promise = core_.self->template make_response_promise<T>();
    send(std::move(call), deliver_to(promise, std::move(decode)));
    return promise;
  }
  /// Answers the request being handled from one call and what follows it:
  /// `next(reply, promise)` answers, perhaps after more calls.
  template <class T, class Next>
  caf::typed_response_promise<T> answer_then(redis_call call, Next next) {
    auto promise = core_.self->template make_response_promise<T>();
    send(std::move(call),
         [promise, next = std::move(next)](redis_reply r) mutable { next(std::move(r), promise); });
    return promise;
  }

  /// The replies and timers coming back to the actor.
  auto handlers() {
    return std::make_tuple(
      [this](reply_atom, std::uint64_t token, redis_reply& reply) { on_reply(token, std::move(reply)); },
      [this](timer_atom, std::uint64_t token) { on_timer(token); });
  }

private:
  void eval(const lua_script& s, bool by_sha, std::vector<std::string> keys, std::vector<std::string> args,
            redis_callback k, int replicas);
  void command(std::vector<std::string> args, redis_callback k);
  /// A callback for a port that hands the reply to `k` on the actor.
  redis_callback on_actor(redis_callback k);
  void on_reply(std::uint64_t token, redis_reply reply);
  void on_timer(std::uint64_t token);
  /// Sets the process's Redis readiness from the links' state.
  void publish_status();

  bridge_core& core_;
  std::shared_ptr<redis_port> commands_;
  std::shared_ptr<redis_port> subscriber_;
  bool command_up_ = false;
  bool subscriber_up_ = false;
  std::string command_reason_ = "connecting";
  std::string subscriber_reason_ = "connecting";
  std::uint64_t next_token_ = 1;
  /// Replies awaited, by token: when sent, and what to do with the reply.
  std::unordered_map<std::uint64_t, std::pair<clock::time_point, redis_callback>> pending_;
  /// Work to do later on the actor, by timer token (after()).
  std::unordered_map<std::uint64_t, std::function<void()>> timers_;
};

} // namespace chatnode::bridge

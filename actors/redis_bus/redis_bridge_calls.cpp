// The Redis bridge's commands and scripts: each reply comes back to the
// actor as a message, and a script Redis has not cached is sent by source.

#include "actors/redis_bus/redis_bridge_calls.hpp"

#include "actors/redis_bus/redis_scripts.hpp"
#include "actors/contracts/chat_stats.hpp"

#include <caf/send.hpp>
#include <openssl/evp.h>

#include <array>

namespace chatnode::bridge {

namespace {

std::string sha1_hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    constexpr const char* digits = "0123456789abcdef";
    hex += digits[digest[i] >> 4];
    hex += digits[digest[i] & 0xf];
  }
  return hex;
}

} // namespace

lua_script::lua_script(const char* text)
  : source(text),
    sha(sha1_hex(source)) {}

namespace scripts {
// Made at start-up (the texts are constants); the presence scripts and the
// readers of a room's stream begin with their helpers (redis_scripts.cpp.in).
const lua_script store{redis_scripts::store};
const lua_script replicated{redis_scripts::replicated};
const lua_script snapshot{redis_scripts::snapshot};
const lua_script catch_up{redis_scripts::catch_up};
const lua_script archived{redis_scripts::archived};
const lua_script history{redis_scripts::history};
const lua_script thread{redis_scripts::thread};
const lua_script read{redis_scripts::read};
const lua_script thread_read{redis_scripts::thread_read};
const lua_script threads{redis_scripts::threads};
const lua_script push_keep{redis_scripts::push_keep};
const lua_script push_decide{redis_scripts::push_decide};
const lua_script push_away{redis_scripts::push_away};
const lua_script push_level{redis_scripts::push_level};
const lua_script push_owe{redis_scripts::push_owe};
const lua_script push_claim{redis_scripts::push_claim};
const lua_script push_settle{redis_scripts::push_settle};
const lua_script admit{redis_scripts::admit};
const lua_script moderate{redis_scripts::moderate};
const lua_script hook_claim{redis_scripts::hook_claim};
const lua_script hook_move{redis_scripts::hook_move};
const lua_script directory{redis_scripts::directory};
const lua_script presence{redis_scripts::presence};
const lua_script refresh{redis_scripts::refresh};
} // namespace scripts

void redis_calls::start(std::shared_ptr<redis_port> commands, std::shared_ptr<redis_port> subscriber) {
  commands_ = std::move(commands);
  subscriber_ = std::move(subscriber);
  publish_status();
  // Every node hears notices for users (a conversation opened with them).
  subscribe(core_.keys.people_channel());
}

void redis_calls::set_link(redis_link link, bool up, const std::string& reason) {
  if (link == redis_link::commands) {
    if (command_up_ && !up)
      core_.stats->redis_reconnects.fetch_add(1, std::memory_order_relaxed);
    command_up_ = up;
    command_reason_ = up ? "" : reason;
  } else {
    subscriber_up_ = up;
    subscriber_reason_ = up ? "" : reason;
  }
  publish_status();
}

void redis_calls::send(redis_call call, redis_callback k) {
  if (call.script != nullptr)
    eval(*call.script, true, std::move(call.keys), std::move(call.args), std::move(k), call.replicas);
  else
    command(std::move(call.args), std::move(k));
}

void redis_calls::eval(const lua_script& s, bool by_sha, std::vector<std::string> keys,
                       std::vector<std::string> args, redis_callback k, int replicas) {
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.push_back(by_sha ? "EVALSHA" : "EVAL");
  cmd.push_back(by_sha ? s.sha : s.source);
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto retry = [this, sp = &s, by_sha, keys = std::move(keys), args = std::move(args), k = std::move(k),
                replicas](redis_reply r) mutable {
    // A server that has not seen the script yet (a restart, a new master)
    // runs it from its source, and knows it by its SHA after.
    if (by_sha && r.is_error() && r.str.starts_with("NOSCRIPT")) {
      eval(*sp, false, std::move(keys), std::move(args), std::move(k), replicas);
      return;
    }
    k(std::move(r));
  };
  if (replicas == 0) {
    command(std::move(cmd), std::move(retry));
    return;
  }
  if (!command_up_) {
    retry(redis_reply::error("redis is not connected"));
    return;
  }
  core_.stats->redis_commands.fetch_add(2, std::memory_order_relaxed); // the script and its WAIT
  commands_->command_replicated(std::move(cmd), replicas, core_.settings.wait_timeout,
                                on_actor(std::move(retry)));
}

void redis_calls::command(std::vector<std::string> args, redis_callback k) {
  if (!command_up_) {
    k(redis_reply::error("redis is not connected"));
    return;
  }
  core_.stats->redis_commands.fetch_add(1, std::memory_order_relaxed);
  commands_->command(std::move(args), on_actor(std::move(k)));
}

redis_callback redis_calls::on_actor(redis_callback k) {
  auto token = next_token_++;
  pending_.emplace(token, std::make_pair(clock::now(), std::move(k)));
  return [me = caf::actor_cast<redis_bridge_actor>(core_.self), token](redis_reply reply) {
    caf::anon_send(me, reply_atom::value, token, std::move(reply));
  };
}

void redis_calls::on_reply(std::uint64_t token, redis_reply reply) {
  auto it = pending_.find(token);
  if (it == pending_.end())
    return;
  auto [started, k] = std::move(it->second);
  pending_.erase(it);
  core_.stats->redis_rtt.observe(std::chrono::duration<double>(clock::now() - started).count());
  k(std::move(reply));
}

void redis_calls::after(std::chrono::milliseconds delay, std::function<void()> f) {
  auto token = next_token_++;
  timers_.emplace(token, std::move(f));
  core_.self->delayed_send(core_.self, delay, timer_atom::value, token);
}

void redis_calls::on_timer(std::uint64_t token) {
  auto it = timers_.find(token);
  if (it == timers_.end())
    return;
  auto f = std::move(it->second);
  timers_.erase(it);
  f();
}

void redis_calls::publish_status() {
  auto& stats = *core_.stats;
  stats.redis_up.store(command_up_ && subscriber_up_);
  if (!command_up_)
    stats.set_redis_reason("redis: " + command_reason_);
  else if (!subscriber_up_)
    stats.set_redis_reason("redis subscriber: " + subscriber_reason_);
  else
    stats.set_redis_reason({});
}

} // namespace chatnode::bridge

// The Redis bridge's commands and scripts: each reply comes back to the
// actor as a message, and a script Redis has not cached is sent by source.

#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_bridge_state.hpp"
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

void eval(bridge_actor* self, const lua_script& s, bool by_sha, std::vector<std::string> keys,
          std::vector<std::string> args, std::function<void(redis_reply)> k, int replicas) {
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.push_back(by_sha ? "EVALSHA" : "EVAL");
  cmd.push_back(by_sha ? s.sha : s.source);
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto retry = [self, sp = &s, by_sha, keys = std::move(keys), args = std::move(args), k = std::move(k),
                replicas](redis_reply r) mutable {
    // A server that has not seen the script yet (a restart, a new master)
    // runs it from its source, and knows it by its SHA after.
    if (by_sha && r.is_error() && r.str.starts_with("NOSCRIPT")) {
      eval(self, *sp, false, std::move(keys), std::move(args), std::move(k), replicas);
      return;
    }
    k(std::move(r));
  };
  auto& st = self->state;
  if (replicas == 0) {
    call(self, std::move(cmd), std::move(retry));
    return;
  }
  if (!st.command_up) {
    retry(redis_reply::error("redis is not connected"));
    return;
  }
  st.stats->redis_commands.fetch_add(2, std::memory_order_relaxed); // the script and its WAIT
  st.commands->command_replicated(std::move(cmd), replicas, st.settings.wait_timeout,
                                  on_actor(self, std::move(retry)));
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
const lua_script read{redis_scripts::read};
const lua_script admit{redis_scripts::admit};
const lua_script moderate{redis_scripts::moderate};
const lua_script directory{redis_scripts::directory};
const lua_script presence{redis_scripts::presence};
const lua_script refresh{redis_scripts::refresh};
} // namespace scripts

redis_callback on_actor(bridge_actor* self, std::function<void(redis_reply)> k) {
  auto& st = self->state;
  auto token = st.next_token++;
  st.calls.emplace(token, std::make_pair(clock::now(), std::move(k)));
  return [me = caf::actor_cast<redis_bridge_actor>(self), token](redis_reply reply) {
    caf::anon_send(me, reply_atom::value, token, std::move(reply));
  };
}

void call(bridge_actor* self, std::vector<std::string> args, std::function<void(redis_reply)> k) {
  auto& st = self->state;
  if (!st.command_up) {
    k(redis_reply::error("redis is not connected"));
    return;
  }
  st.stats->redis_commands.fetch_add(1, std::memory_order_relaxed);
  st.commands->command(std::move(args), on_actor(self, std::move(k)));
}

void run_script(bridge_actor* self, const lua_script& s, std::vector<std::string> keys,
                std::vector<std::string> args, std::function<void(redis_reply)> k, int replicas) {
  eval(self, s, true, std::move(keys), std::move(args), std::move(k), replicas);
}

void after(bridge_actor* self, std::chrono::milliseconds delay, std::function<void()> f) {
  auto& st = self->state;
  auto token = st.next_token++;
  st.timers.emplace(token, std::move(f));
  self->delayed_send(self, delay, timer_atom::value, token);
}

void publish_status(bridge_actor* self) {
  auto& st = self->state;
  bool up = st.command_up && st.subscriber_up;
  st.stats->redis_up.store(up);
  if (!st.command_up)
    st.stats->set_redis_reason("redis: " + st.command_reason);
  else if (!st.subscriber_up)
    st.stats->set_redis_reason("redis subscriber: " + st.subscriber_reason);
  else
    st.stats->set_redis_reason({});
}

} // namespace chatnode::bridge

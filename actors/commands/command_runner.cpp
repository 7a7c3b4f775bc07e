#include "actors/commands/command_runner.hpp"

#include "actors/commands/command_call.hpp"
#include "actors/contracts/signing.hpp"
#include "actors/webhooks/webhook_signature.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <caf/allowed_unsafe_message_type.hpp>

#include <nlohmann/json.hpp>

#include <unordered_map>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::command_answer)

namespace chatnode {

namespace {

using answered_atom = caf::atom_constant<caf::atom("cmdanswer")>;
using result_promise = caf::typed_response_promise<command_result>;

/// A call under way: what was typed, and whom to answer.
struct pending_call {
  command_request req;
  result_promise promise;
};

struct runner_state {
  command_runner_settings settings;
  command_bus bus;
  std::shared_ptr<command_poster> poster;
  stats_ptr stats;
  std::uint64_t next_call = 1;
  std::unordered_map<std::uint64_t, pending_call> calls;

  static inline const char* name = "command_runner";
};

using runner_impl = commands_actor::extend<caf::reacts_to<answered_atom, std::uint64_t, command_answer>>;
using runner_self = runner_impl::stateful_pointer<runner_state>;

void count(runner_self self, command_outcome outcome) {
  self->state.stats->commands[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

command_result refused(error_code code, std::string reason) {
  command_result r;
  r.refused = refusal{code, std::move(reason)};
  return r;
}

const command_spec* find(const command_book& book, const std::string& name) {
  for (const auto& c : book)
    if (c.name == name)
      return &c;
  return nullptr;
}

/// The answer's text checked as a message's would be; empty when it is fine.
std::string text_problem(runner_self self, const std::string& room, const std::string& text) {
  nlohmann::json frame{{"type", "send"}, {"room", room}, {"text", text}};
  auto decoded = decode_request(frame.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                self->state.settings.limits);
  return ok(decoded) ? std::string{} : error_of(decoded).reason;
}

/// Posts the answer to the room under the command's bot.
void post_answer(runner_self self, const command_request& req, const command_spec& spec, std::string text,
                 result_promise promise) {
  store_request store;
  store.room = req.room;
  store.user = spec.bot;
  store.text = std::move(text);
  store.thread = req.thread;
  store.bot = true;
  self->request(self->state.bus, self->state.settings.bus_timeout, store_atom::value, std::move(store))
    .then(
      [self, promise](const store_result& stored) mutable {
        if (stored.refused) {
          count(self, command_outcome::failed);
          promise.deliver(
            refused(stored.refused->code, "the command's answer was refused: " + stored.refused->reason));
          return;
        }
        count(self, command_outcome::answered);
        command_result r;
        r.posted = stored.message.id;
        promise.deliver(std::move(r));
      },
      [self, promise](const caf::error&) mutable {
        count(self, command_outcome::failed);
        promise.deliver(refused(error_code::unavailable, "the command's answer could not be stored"));
      });
}

void answered(runner_self self, const command_request& req, const command_spec& spec, const command_answer& a,
              result_promise promise) {
  auto fail = [&](std::string why) {
    count(self, command_outcome::failed);
    promise.deliver(refused(error_code::unavailable, "/" + spec.name + " failed: " + why));
  };
  if (a.status == 0)
    return fail(a.error);
  if (a.status < 200 || a.status >= 300)
    return fail("its service answered " + std::to_string(a.status));
  auto reply = parse_command_answer(a.body);
  if (!ok(reply))
    return fail(error_of(reply));
  auto& got = std::get<command_reply>(reply);
  if (!got.text.empty())
    if (auto problem = text_problem(self, req.room, got.text); !problem.empty())
      return fail("its answer is not a message: " + problem);
  if (got.to_room && !got.text.empty())
    return post_answer(self, req, spec, std::move(got.text), std::move(promise));
  count(self, command_outcome::answered);
  command_result r;
  r.text = std::move(got.text);
  promise.deliver(std::move(r));
}

caf::result<command_result> run(runner_self self, const command_request& req) {
  auto& st = self->state;
  const auto* spec = st.settings.book ? find(*st.settings.book, req.command) : nullptr;
  if (spec == nullptr) {
    count(self, command_outcome::unknown);
    return refused(error_code::not_found, "unknown command /" + req.command);
  }
  if (!spec->in_room(req.room)) {
    count(self, command_outcome::unknown);
    return refused(error_code::forbidden, "/" + req.command + " does not work in room " + req.room);
  }
  auto now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
  command_post post;
  post.url = spec->url;
  post.allow_private = spec->allow_private;
  post.body = command_call_body(req, now_ms);
  post.delivery = hex(random_bytes(12));
  post.timestamp = std::to_string(now_ms / 1000);
  post.signature = webhook_signature(spec->secret, post.timestamp, post.body);
  auto promise = self->make_response_promise<command_result>();
  auto token = st.next_call++;
  st.calls.emplace(token, pending_call{req, promise});
  auto me = caf::actor_cast<caf::actor>(self);
  // The answer comes on an I/O thread: it is handled on the actor.
  st.poster->post(std::move(post), [me, token](command_answer a) {
    caf::anon_send(me, answered_atom::value, token, std::move(a));
  });
  return promise;
}

runner_impl::behavior_type command_runner(runner_self self, command_bus bus,
                                          std::shared_ptr<command_poster> poster,
                                          command_runner_settings settings, stats_ptr stats) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.poster = std::move(poster);
  st.settings = std::move(settings);
  st.stats = std::move(stats);
  self->set_error_handler([](caf::error&) {});
  return {
    [self](command_atom, const command_request& req) { return run(self, req); },
    [self](answered_atom, std::uint64_t token, const command_answer& a) {
      auto it = self->state.calls.find(token);
      if (it == self->state.calls.end())
        return;
      auto call = std::move(it->second);
      self->state.calls.erase(it);
      const auto* spec = find(*self->state.settings.book, call.req.command);
      if (spec == nullptr)
        return;
      answered(self, call.req, *spec, a, std::move(call.promise));
    },
  };
}

} // namespace

commands_actor spawn_command_runner(caf::actor_system& sys, command_bus bus,
                                    std::shared_ptr<command_poster> poster, command_runner_settings settings,
                                    stats_ptr stats) {
  return caf::actor_cast<commands_actor>(
    sys.spawn(command_runner, std::move(bus), std::move(poster), std::move(settings), std::move(stats)));
}

} // namespace chatnode

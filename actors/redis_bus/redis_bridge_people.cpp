// The Redis bridge's people: who may enter a room (bans, direct
// conversations), moderation actions stored in the room's order, and kicks
// that reach every node.

#include "actors/people/moderation.hpp"
#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_bridge_state.hpp"

#include <caf/event_based_actor.hpp>

namespace chatnode::bridge {

void create_dm(bridge_actor* self, const dm_request& req, const std::string& room,
               caf::response_promise promise);

namespace {

void fail(caf::response_promise& promise, const redis_reply& r) {
  promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
}

/// A moderation event around the gaps for its id and its until, as moderate.lua fills them.
message_template moderation_template(const moderation_request& req) {
  moderation_event event{req.room, message_id{1, 1}, req.action, req.user, req.by, std::int64_t{2}};
  auto frame = encode_moderation(event);
  auto id_at = frame.find("\"1-1\"") + 1;
  auto until_at = frame.rfind(":2}") + 1;
  return {frame.substr(0, id_at), frame.substr(id_at + 3, until_at - id_at - 3), frame.substr(until_at + 1)};
}

} // namespace

namespace {

constexpr auto admit_retry = std::chrono::milliseconds{200};

/// Asks Redis whether a user may enter; an error (the room's shard failing
/// over, the link reconnecting) is asked again until the join's deadline, as
/// a join's snapshot waits for Redis.
void ask_admission(bridge_actor* self, admit_request req, caf::response_promise promise,
                   clock::time_point deadline) {
  auto& st = self->state;
  run_script(self, scripts::admit, {st.keys.bans(req.room), st.keys.parties(req.room)},
             {req.user, is_dm_room(req.room) ? "1" : "0"},
             [self, req, promise, deadline](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 2) {
                 if (clock::now() + admit_retry >= deadline)
                   return fail(promise, r);
                 after(self, admit_retry, [self, req = std::move(req), promise, deadline]() mutable {
                   ask_admission(self, std::move(req), std::move(promise), deadline);
                 });
                 return;
               }
               admission answer;
               if (r.elements[0].str == "refused" && r.elements.size() >= 3)
                 answer.refused = refusal{error_code::forbidden, r.elements[2].str};
               else
                 answer.peer = r.elements[1].str;
               promise.deliver(std::move(answer));
             });
}

} // namespace

void admit(bridge_actor* self, const admit_request& req, caf::response_promise promise) {
  ask_admission(self, req, std::move(promise), clock::now() + self->state.settings.query_timeout);
}

void moderate(bridge_actor* self, const moderation_request& req, caf::response_promise promise) {
  auto& st = self->state;
  auto t = moderation_template(req);
  run_script(
    self, scripts::moderate,
    {st.keys.log(req.room), st.keys.bans(req.room), st.keys.mutes(req.room), st.keys.channel(req.room),
     st.keys.watermark(req.room), st.keys.numbered(req.room)},
    {std::string{to_string(req.action)}, req.user, req.by,
     req.seconds ? std::to_string(*req.seconds) : std::string{}, t.head, t.middle, t.tail,
     st.replicated() ? std::string{} : st.publish_command(), st.publish_command()},
    [self, promise, room = req.room](redis_reply r) mutable {
      if (r.type != redis_reply::kind::array || r.elements.size() < 4)
        return fail(promise, r);
      self->state.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
      auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
      tell_archive(self, room, id, true);
      store_result result{{id, make_frame(r.elements[2].str)}, false, std::nullopt};
      if (!self->state.replicated()) {
        promise.deliver(std::move(result));
        return;
      }
      publish_replicated(self, room, std::move(result), r.elements[3].str, std::move(promise));
    },
    st.settings.wait_replicas);
}

void open_dm(bridge_actor* self, const dm_request& req, caf::response_promise promise) {
  auto room = dm_room_name(req.user, req.peer);
  // A user's conversations are bounded: a new one past the bound is refused
  // (an empty answer); one they have goes on.
  call(self, {"HEXISTS", self->state.keys.conversations(req.user), room},
       [self, req, room, promise](redis_reply known) mutable {
         if (known.is_error())
           return fail(promise, known);
         if (known.integer == 1)
           return create_dm(self, req, room, std::move(promise));
         call(self, {"HLEN", self->state.keys.conversations(req.user)},
              [self, req, room, promise](redis_reply count) mutable {
                if (count.is_error())
                  return fail(promise, count);
                if (static_cast<std::size_t>(count.integer) >= max_conversations_per_user) {
                  promise.deliver(std::string{});
                  return;
                }
                create_dm(self, req, room, std::move(promise));
              });
       });
}

void create_dm(bridge_actor* self, const dm_request& req, const std::string& room,
               caf::response_promise promise) {
  auto [a, b] = std::minmax(req.user, req.peer);
  // The name is the pair's hash: whoever sets it first sets the same pair.
  call(self, {"SET", self->state.keys.parties(room), a + "\n" + b, "NX"},
       [self, promise, room, req](redis_reply r) mutable {
         if (r.is_error())
           return fail(promise, r);
         if (r.type == redis_reply::kind::status) {
           // New: each user's list has it, and the other user hears of it
           // on every node.
           auto& st = self->state;
           call(self, {"HSET", st.keys.conversations(req.user), room, req.peer}, [](redis_reply) {});
           call(self, {"HSET", st.keys.conversations(req.peer), room, req.user}, [](redis_reply) {});
           call(self,
                {st.publish_command(), st.keys.people_channel(),
                 "n" + req.peer + "\n" + encode_conversation(room, req.user)},
                [](redis_reply) {});
         }
         promise.deliver(room);
       });
}

void list_conversations(bridge_actor* self, const std::string& user, caf::response_promise promise) {
  call(self, {"HGETALL", self->state.keys.conversations(user)}, [promise](redis_reply r) mutable {
    if (r.type != redis_reply::kind::array)
      return fail(promise, r);
    conversation_list list;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
      list.emplace_back(r.elements[i].str, r.elements[i + 1].str);
    std::sort(list.begin(), list.end());
    promise.deliver(std::move(list));
  });
}

void on_people(bridge_actor* self, std::string payload) {
  // n<user>\n<frame> for a user's sessions, x<user>\n to close them
  auto nl = payload.find('\n');
  if (payload.size() < 2 || nl == std::string::npos || !self->state.notice_hub)
    return;
  auto user = payload.substr(1, nl - 1);
  if (payload[0] == 'n')
    self->send(self->state.notice_hub, notice_atom::value,
               user_notice{std::move(user), make_frame(payload.substr(nl + 1)), false});
  else if (payload[0] == 'x')
    self->send(self->state.notice_hub, notice_atom::value, user_notice{std::move(user), nullptr, true});
}

void disconnect_everywhere(bridge_actor* self, const std::string& user) {
  auto& st = self->state;
  call(self, {st.publish_command(), st.keys.people_channel(), "x" + user + "\n"}, [](redis_reply) {});
}

void on_kick(bridge_actor* self, room_link& r, const std::string& room, std::string user, std::string by) {
  self->send(r.hub, kick_atom::value, room,
             kick_notice{std::move(user), make_frame(encode_kicked(room, by))});
}

} // namespace chatnode::bridge

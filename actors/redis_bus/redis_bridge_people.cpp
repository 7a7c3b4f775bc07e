// The Redis bridge's people: admission (admit.lua), moderation
// (moderate.lua), direct conversations and the people channel.

#include "actors/redis_bus/redis_bridge_people.hpp"

#include "actors/people/moderation.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/event_based_actor.hpp>

namespace chatnode::bridge {

namespace {

constexpr auto admit_retry = std::chrono::milliseconds{200};

/// A moderation event around the gaps for its id and its until, as moderate.lua fills them.
message_template moderation_template(const moderation_request& req) {
  moderation_event event{req.room, message_id{1, 1}, req.action, req.user, req.by, std::int64_t{2}};
  auto frame = encode_moderation(event);
  auto id_at = frame.find("\"1-1\"") + 1;
  auto until_at = frame.rfind(":2}") + 1;
  return {frame.substr(0, id_at), frame.substr(id_at + 3, until_at - id_at - 3), frame.substr(until_at + 1)};
}

} // namespace

// -- admission ------------------------------------------------------------------------

caf::result<admission> people_service::admit(const admit_request& req) {
  auto deadline = clock::now() + core_.settings.query_timeout;
  return calls_.answer_then<admission>(admit_call(req),
                                       [this, req, deadline](redis_reply r, admission_promise& promise) {
                                         on_admission(req, deadline, r, std::move(promise));
                                       });
}

redis_call people_service::admit_call(const admit_request& req) const {
  return redis_call::run_script(scripts::admit, {core_.keys.bans(req.room), core_.keys.parties(req.room)},
                                {req.user, is_dm_room(req.room) ? "1" : "0"});
}

void people_service::on_admission(const admit_request& req, clock::time_point deadline, const redis_reply& r,
                                  admission_promise promise) {
  if (is_array(r, 2)) {
    admission answer;
    if (r.elements[0].str == "refused" && r.elements.size() >= 3)
      answer.refused = refusal{error_code::forbidden, r.elements[2].str};
    else
      answer.peer = r.elements[1].str;
    promise.deliver(std::move(answer));
    return;
  }
  if (clock::now() + admit_retry >= deadline) {
    promise.deliver(redis_failure(r.str));
    return;
  }
  calls_.after(admit_retry, [this, req, deadline, promise]() mutable {
    calls_.send(admit_call(req), [this, req, deadline, promise](redis_reply again) mutable {
      on_admission(req, deadline, again, std::move(promise));
    });
  });
}

// -- moderation -----------------------------------------------------------------------

caf::result<store_result> people_service::moderate(const moderation_request& req) {
  const auto& keys = core_.keys;
  auto t = moderation_template(req);
  auto call = redis_call::run_script(
    scripts::moderate,
    {keys.log(req.room), keys.bans(req.room), keys.mutes(req.room), keys.channel(req.room),
     keys.watermark(req.room), keys.numbered(req.room), keys.hook(req.room)},
    {std::string{to_string(req.action)}, req.user, req.by,
     req.seconds ? std::to_string(*req.seconds) : std::string{}, t.head, t.middle, t.tail,
     core_.replicated() ? std::string{} : core_.publish_command(), core_.publish_command(),
     feed_.hook_hold(req.room).empty() ? "0" : "1"},
    core_.settings.wait_replicas);
  return calls_.answer_then<store_result>(std::move(call),
                                          [this, room = req.room](redis_reply r, store_promise& promise) {
                                            on_moderated(room, r, std::move(promise));
                                          });
}

void people_service::on_moderated(const std::string& room, const redis_reply& r, store_promise promise) {
  if (!is_array(r, 4)) {
    promise.deliver(redis_failure(r.str));
    return;
  }
  core_.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
  auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
  feed_.tell(room, id, true);
  store_result result{{id, make_frame(r.elements[2].str)}, false, std::nullopt};
  if (!core_.replicated()) {
    promise.deliver(std::move(result));
    return;
  }
  messages_.publish_replicated(room, std::move(result), r.elements[3].str, std::move(promise));
}

// -- direct conversations -------------------------------------------------------------

caf::result<std::string> people_service::open_dm(const dm_request& req) {
  auto room = dm_room_name(req.user, req.peer);
  // A user's conversations are bounded: a new one past the bound is refused
  // (an empty answer); one they have goes on.
  return calls_.answer_then<std::string>(
    redis_call::command({"HEXISTS", core_.keys.conversations(req.user), room}),
    [this, req, room](redis_reply known, room_promise& promise) {
      if (known.is_error())
        promise.deliver(redis_failure(known.str));
      else if (known.integer == 1)
        create_dm(req, room, std::move(promise));
      else
        count_conversations(req, room, std::move(promise));
    });
}

void people_service::count_conversations(const dm_request& req, const std::string& room,
                                         room_promise promise) {
  calls_.send(redis_call::command({"HLEN", core_.keys.conversations(req.user)}),
              [this, req, room, promise](redis_reply count) mutable {
                if (count.is_error())
                  promise.deliver(redis_failure(count.str));
                else if (static_cast<std::size_t>(count.integer) >= max_conversations_per_user)
                  promise.deliver(std::string{});
                else
                  create_dm(req, room, std::move(promise));
              });
}

void people_service::create_dm(const dm_request& req, const std::string& room, room_promise promise) {
  auto [a, b] = std::minmax(req.user, req.peer);
  // The name is the pair's hash: whoever sets it first sets the same pair.
  calls_.send(redis_call::command({"SET", core_.keys.parties(room), a + "\n" + b, "NX"}),
              [this, promise, room, req](redis_reply r) mutable {
                if (r.is_error()) {
                  promise.deliver(redis_failure(r.str));
                  return;
                }
                if (r.type == redis_reply::kind::status) {
                  // New: each user's list has it, and the other user hears
                  // of it on every node.
                  const auto& keys = core_.keys;
                  calls_.send_and_forget({"HSET", keys.conversations(req.user), room, req.peer});
                  calls_.send_and_forget({"HSET", keys.conversations(req.peer), room, req.user});
                  calls_.send_and_forget({core_.publish_command(), keys.people_channel(),
                                          "n" + req.peer + "\n" + encode_conversation(room, req.user)});
                }
                promise.deliver(room);
              });
}

caf::result<conversation_list> people_service::list_conversations(const std::string& user) {
  return calls_.answer<conversation_list>(redis_call::command({"HGETALL", core_.keys.conversations(user)}),
                                          [](const redis_reply& r) -> std::optional<conversation_list> {
                                            if (!is_array(r))
                                              return std::nullopt;
                                            conversation_list list;
                                            for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
                                              list.emplace_back(r.elements[i].str, r.elements[i + 1].str);
                                            std::sort(list.begin(), list.end());
                                            return list;
                                          });
}

// -- the people channel ---------------------------------------------------------------

void people_service::on_notice(const std::string& payload) {
  // (1.2) Someone subscribed to pushes: this node asks for push decisions
  // from now on (it needs no hub to hear it).
  if (!payload.empty() && payload[0] == 's') {
    if (core_.settings.push_key)
      core_.settings.push_key->set_subscribed();
    return;
  }
  auto nl = payload.find('\n');
  if (payload.size() < 2 || nl == std::string::npos || !notice_hub_)
    return;
  auto user = payload.substr(1, nl - 1);
  if (payload[0] == 'n')
    core_.self->send(notice_hub_, notice_atom::value,
                     user_notice{std::move(user), make_frame(payload.substr(nl + 1)), false});
  else if (payload[0] == 'x')
    core_.self->send(notice_hub_, notice_atom::value, user_notice{std::move(user), nullptr, true});
}

} // namespace chatnode::bridge

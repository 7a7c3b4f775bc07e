#include "actors/redis_bus/redis_bridge_push.hpp"

#include "actors/contracts/push_identity.hpp"
#include "actors/wire/protocol.hpp"

#include <functional>
#include <utility>

namespace chatnode::bridge {

void push_keeper::fetch_key() {
  auto identity = core_.settings.push_key;
  if (!identity)
    return; // push is off
  if (!identity->anyone_subscribed())
    calls_.send(redis_call::command({"EXISTS", core_.keys.push_anyone()}), [identity](redis_reply r) {
      if (r.type == redis_reply::kind::integer && r.integer == 1)
        identity->set_subscribed();
    });
  if (identity->candidate().empty())
    return; // the operator's key is used as is
  // SET NX GET: the key Redis held, or nil when it held none and took ours.
  calls_.send(redis_call::command({"SET", core_.keys.push_key(), identity->candidate(), "NX", "GET"}),
              [this, identity](redis_reply r) {
                if (r.type == redis_reply::kind::nil) {
                  identity->keep(identity->candidate());
                } else if (r.type == redis_reply::kind::string && !identity->keep(r.str)) {
                  identity->set_problem("the VAPID key kept in Redis (" + core_.keys.push_key() +
                                        ") is not a P-256 private key in PEM: replace or delete it");
                }
              });
}

caf::result<bool> push_keeper::keep(std::string key, std::string field, std::string value, std::size_t most,
                                    std::function<void()> then) {
  return calls_.answer_then<bool>(
    redis_call::run_script(scripts::push_keep, {std::move(key)},
                           {std::move(field), std::move(value), std::to_string(most)}),
    [then = std::move(then)](redis_reply r, caf::typed_response_promise<bool> promise) {
      if (r.type != redis_reply::kind::integer) {
        promise.deliver(redis_failure(r.str));
        return;
      }
      if (r.integer == 1 && then)
        then();
      promise.deliver(r.integer == 1);
    });
}

caf::result<bool> push_keeper::subscribe(const push_subscription& s) {
  return keep(core_.keys.push_subscriptions(s.user), s.endpoint, s.p256dh + " " + s.auth,
              max_push_subscriptions, [this] {
                // Every node asks for push decisions from now on: told at
                // once, and kept for nodes that start later.
                calls_.send_and_forget({"SET", core_.keys.push_anyone(), "1"});
                calls_.send_and_forget({core_.publish_command(), core_.keys.people_channel(), "s\n"});
                if (core_.settings.push_key)
                  core_.settings.push_key->set_subscribed();
              });
}

caf::result<bool> push_keeper::unsubscribe(const std::string& user, const std::string& endpoint) {
  return calls_.answer_then<bool>(
    redis_call::command({"HDEL", core_.keys.push_subscriptions(user), endpoint}),
    [](redis_reply r, caf::typed_response_promise<bool> promise) {
      if (r.type != redis_reply::kind::integer)
        promise.deliver(redis_failure(r.str));
      else
        promise.deliver(r.integer == 1);
    });
}

caf::result<bool> push_keeper::set_level(const notify_setting& n) {
  // Kept, it is told to the user's sessions on every node, this one's
  // through the channel too.
  return keep(core_.keys.notify_levels(n.user), n.room, n.level, max_notify_levels, [this, n] {
    scheduler_.keep_room_level(n);
    calls_.send_and_forget({core_.publish_command(), core_.keys.people_channel(),
                            "n" + n.user + "\n" + encode_notify(n.room, n.level)});
  });
}

caf::result<std::vector<notify_setting>> push_keeper::levels(const std::string& user) {
  return calls_.answer<std::vector<notify_setting>>(
    redis_call::command({"HGETALL", core_.keys.notify_levels(user)}),
    [user](const redis_reply& r) -> std::optional<std::vector<notify_setting>> {
      if (!is_array(r))
        return std::nullopt;
      std::vector<notify_setting> out;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out.push_back({user, r.elements[i].str, r.elements[i + 1].str});
      return out;
    });
}

} // namespace chatnode::bridge

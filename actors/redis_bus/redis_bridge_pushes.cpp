#include "actors/redis_bus/redis_bridge_pushes.hpp"

#include "actors/contracts/messages.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <utility>

namespace chatnode::bridge {

void push_scheduler::keep_room_level(const notify_setting& n) {
  calls_.send(redis_call::run_script(scripts::push_level,
                                     {core_.keys.room_levels(n.room), core_.keys.room_at_all(n.room)},
                                     {n.user, n.level}),
              [](redis_reply) {});
}

caf::result<std::uint32_t, std::uint32_t> push_scheduler::owe(const push_owed_message& m) {
  auto promise = core_.self->make_response_promise<std::uint32_t, std::uint32_t>();
  std::vector<std::string> args{m.id, m.sender, m.dm ? "1" : "0"};
  args.insert(args.end(), m.mentioned.begin(), m.mentioned.end());
  const auto& k = core_.keys;
  calls_.send(redis_call::run_script(scripts::push_decide,
                                     {k.room_levels(m.room), k.room_at_all(m.room), k.parties(m.room),
                                      k.members(m.room), k.nodes(m.room), k.reads(m.room)},
                                     std::move(args)),
              [this, promise, m](redis_reply r) mutable {
                if (!is_array(r)) {
                  promise.deliver(redis_failure(r.str));
                  return;
                }
                struct tally {
                  std::size_t waiting = 0;
                  std::uint32_t opened = 0;
                  std::uint32_t folded = 0;
                };
                auto counts = std::make_shared<tally>();
                counts->waiting = r.elements.size();
                if (counts->waiting == 0) {
                  promise.deliver(0u, 0u);
                  return;
                }
                auto one_done = [promise, counts]() mutable {
                  if (--counts->waiting == 0)
                    promise.deliver(counts->opened, counts->folded);
                };
                for (const auto& user : r.elements) {
                  // Only a user with a subscription is owed one: the pending push is
                  // on another slot than the user's subscriptions, so asked first.
                  calls_.send(redis_call::command({"EXISTS", core_.keys.push_subscriptions(user.str)}),
                              [this, m, user = user.str, counts, one_done](redis_reply exists) mutable {
                                if (exists.type != redis_reply::kind::integer || exists.integer == 0) {
                                  one_done();
                                  return;
                                }
                                calls_.send(
                                  redis_call::run_script(
                                    scripts::push_owe, {core_.keys.push_jobs(), core_.keys.push_due()},
                                    {user, m.room, m.id, m.sender, m.text, m.dm ? "1" : "0",
                                     std::to_string(core_.settings.push_fold.count()),
                                     std::to_string(max_pending_pushes)}),
                                  [counts, one_done](redis_reply owed) mutable {
                                    if (owed.type == redis_reply::kind::integer) {
                                      counts->opened += owed.integer == 1;
                                      counts->folded += owed.integer == 0;
                                    }
                                    one_done();
                                  });
                              });
                }
              });
  return promise;
}

std::optional<claimed_push> parse_claimed_push(const std::string& key, const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  claimed_push p;
  p.key = key;
  try {
    p.user = doc.at("user").get<std::string>();
    p.room = doc.at("room").get<std::string>();
    p.id = doc.at("id").get<std::string>();
    p.sender = doc.at("sender").get<std::string>();
    p.text = doc.at("text").get<std::string>();
    p.dm = doc.at("dm").get<bool>();
    p.count = doc.at("count").get<std::uint32_t>();
    p.attempts = doc.value("attempts", 0u);
    auto first = doc.value("first", std::string{"0"});
    p.first_try_ms = std::stoll(first);
    auto pending = doc.value("pending", std::string{});
    for (std::size_t start = 0; start < pending.size();) {
      auto end = pending.find('\n', start);
      if (end == std::string::npos)
        end = pending.size();
      p.pending.push_back(pending.substr(start, end - start));
      start = end + 1;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return p;
}

caf::result<std::vector<claimed_push>> push_scheduler::claim(std::uint32_t n, std::int64_t lease_ms) {
  return calls_.answer<std::vector<claimed_push>>(
    redis_call::run_script(scripts::push_claim,
                           {core_.keys.push_jobs(), core_.keys.push_due(), core_.keys.push_sequence()},
                           {std::to_string(n), std::to_string(lease_ms)}),
    [](const redis_reply& r) -> std::optional<std::vector<claimed_push>> {
      if (!is_array(r))
        return std::nullopt;
      std::vector<claimed_push> out;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        if (auto p = parse_claimed_push(r.elements[i].str, r.elements[i + 1].str))
          out.push_back(std::move(*p));
      return out;
    });
}

caf::result<bool> push_scheduler::away(const std::string& room, const std::string& user,
                                       const std::string& id) {
  const auto& k = core_.keys;
  return calls_.answer<bool>(
    redis_call::run_script(scripts::push_away, {k.members(room), k.nodes(room), k.reads(room)}, {user, id}),
    [](const redis_reply& r) -> std::optional<bool> {
      if (r.type != redis_reply::kind::integer)
        return std::nullopt;
      return r.integer == 1;
    });
}

caf::result<std::vector<push_subscription>> push_scheduler::subscriptions(const std::string& user) {
  return calls_.answer<std::vector<push_subscription>>(
    redis_call::command({"HGETALL", core_.keys.push_subscriptions(user)}),
    [user](const redis_reply& r) -> std::optional<std::vector<push_subscription>> {
      if (!is_array(r))
        return std::nullopt;
      std::vector<push_subscription> out;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        const auto& keys = r.elements[i + 1].str;
        auto space = keys.find(' ');
        if (space == std::string::npos)
          continue;
        out.push_back({user, r.elements[i].str, keys.substr(0, space), keys.substr(space + 1)});
      }
      return out;
    });
}

void push_scheduler::settle(const push_settlement& s) {
  std::string pending;
  for (const auto& endpoint : s.pending)
    pending += (pending.empty() ? "" : "\n") + endpoint;
  calls_.send(redis_call::run_script(scripts::push_settle, {core_.keys.push_jobs(), core_.keys.push_due()},
                                     {s.key, std::to_string(s.retry_at_ms), std::to_string(s.first_try_ms),
                                      std::to_string(s.attempts), pending}),
              [](redis_reply) {});
}

} // namespace chatnode::bridge

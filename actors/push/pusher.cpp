#include "actors/push/pusher.hpp"

#include "actors/wire/protocol.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatnode {

namespace {

/// A claimed push while its sends are under way.
struct sending {
  claimed_push push;
  std::size_t waiting = 0;        ///< sends not answered yet
  std::vector<std::string> retry; ///< endpoints to send again
  int retry_after = -1;           ///< the longest a service asked to wait
};

struct pusher_state {
  // Not an aggregate: CAF would build it from the actor's pointer.
  pusher_state() = default;

  push_bus bus;
  std::shared_ptr<push_sender> sender;
  pusher_settings settings;
  stats_ptr stats;
  bool claiming = false;                           ///< a claim is asked
  std::unordered_map<std::string, sending> flying; ///< by claim key
  static inline const char* name = "pusher";
};

using pusher_self = pusher_actor::stateful_pointer<pusher_state>;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// RFC 8030 §5.4: at most 32 characters of the URL-safe base64 alphabet;
/// one per room, so that a service holding an undelivered push for the
/// room replaces it with the newer one.
std::string topic_of(const std::string& room) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(room.data()), room.size(), digest);
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string topic;
  for (int i = 0; i < 32; ++i)
    topic += alphabet[digest[i] & 63];
  return topic;
}

void settle(pusher_self self, const std::string& key, push_settlement settlement) {
  settlement.key = key;
  self->send(self->state.bus, pushsettle_atom::value, std::move(settlement));
  self->state.flying.erase(key);
}

/// Every send of a push answered: settled, or due again for the rest.
void finish(pusher_self self, const std::string& key) {
  auto& st = self->state;
  auto& s = st.flying.at(key);
  if (s.retry.empty()) {
    settle(self, key, {});
    return;
  }
  auto now = now_ms();
  auto at = push_retry_at(st.settings, s.push.attempts, s.retry_after, now);
  if (at - s.push.first_try_ms > st.settings.give_up_after.count()) {
    st.stats->push_gave_up += 1;
    settle(self, key, {});
    return;
  }
  settle(self, key, push_settlement{{}, at, s.push.first_try_ms, s.push.attempts + 1, std::move(s.retry)});
}

/// Sends a push to the subscriptions it still owes.
void send_to(pusher_self self, const std::string& key, std::vector<push_subscription> subscriptions) {
  auto& st = self->state;
  auto& s = st.flying.at(key);
  if (!s.push.pending.empty())
    std::erase_if(subscriptions, [&](const auto& sub) {
      return std::find(s.push.pending.begin(), s.push.pending.end(), sub.endpoint) == s.push.pending.end();
    });
  if (subscriptions.empty()) {
    settle(self, key, {}); // unsubscribed meanwhile
    return;
  }
  if (s.push.first_try_ms == 0)
    s.push.first_try_ms = now_ms();
  s.waiting = subscriptions.size();
  auto payload = push_payload(s.push);
  auto topic = topic_of(s.push.room);
  auto urgency = s.push.dm ? "high" : "normal";
  for (auto& sub : subscriptions) {
    auto endpoint = sub.endpoint;
    push_request request{std::move(sub), payload, urgency, topic};
    st.sender->send(std::move(request),
                    [self = caf::actor_cast<pusher_actor>(self), key, endpoint](push_outcome outcome) {
                      caf::anon_send(self, pushsent_atom::value, key, endpoint, std::move(outcome));
                    });
  }
}

void start(pusher_self self, claimed_push push) {
  auto& st = self->state;
  auto key = push.key;
  bool first = push.first_try_ms == 0;
  auto user = push.user;
  auto room = push.room;
  auto id = push.id;
  st.flying[key] = sending{std::move(push), 0, {}, -1};
  auto fail = [self, key](const caf::error&) {
    // The bus did not answer: the claim runs out and the push is due again.
    self->state.flying.erase(key);
  };
  auto subscriptions = [self, key, user, fail] {
    self->request(self->state.bus, self->state.settings.bus_timeout, pushsubs_atom::value, user)
      .then([self, key](std::vector<push_subscription>& subs) { send_to(self, key, std::move(subs)); }, fail);
  };
  if (!first) {
    subscriptions(); // a retry: what was decided when it was first due stands
    return;
  }
  // Due now: a user who came back to the room or read it meanwhile is not
  // pushed.
  self->request(st.bus, st.settings.bus_timeout, pushaway_atom::value, room, user, id)
    .then(
      [self, key, subscriptions](bool away) {
        if (away) {
          subscriptions();
          return;
        }
        self->state.stats->push_unwanted += 1;
        settle(self, key, {});
      },
      fail);
}

void claim(pusher_self self) {
  auto& st = self->state;
  if (st.claiming || st.flying.size() >= st.settings.max_in_flight ||
      (st.settings.identity && !st.settings.identity->anyone_subscribed()))
    return;
  st.claiming = true;
  auto room = static_cast<std::uint32_t>(st.settings.max_in_flight - st.flying.size());
  self
    ->request(st.bus, st.settings.bus_timeout, pushdue_atom::value, room,
              static_cast<std::int64_t>(st.settings.lease.count()))
    .then(
      [self](std::vector<claimed_push>& due) {
        self->state.claiming = false;
        for (auto& push : due)
          if (!self->state.flying.contains(push.key))
            start(self, std::move(push));
      },
      [self](const caf::error&) { self->state.claiming = false; });
}

void answered(pusher_self self, const std::string& key, const std::string& endpoint, const push_outcome& o) {
  auto& st = self->state;
  auto it = st.flying.find(key);
  if (it == st.flying.end())
    return;
  auto& s = it->second;
  auto status = o.status;
  if (status >= 200 && status < 300) {
    st.stats->push_sent += 1;
  } else if (status == 404 || status == 410 || o.refused) {
    // The service no longer knows the subscription: it is gone for good.
    st.stats->push_dropped_subscriptions += 1;
    caf::anon_send(st.bus, pushunsub_atom::value, s.push.user, endpoint);
  } else {
    st.stats->count_push_failure(status);
    if (status == 0 || status == 429 || status >= 500) {
      s.retry.push_back(endpoint);
      s.retry_after = std::max(s.retry_after, o.retry_after);
    }
    // Any other 4xx says this push will never be taken: not sent again.
  }
  if (--s.waiting == 0)
    finish(self, key);
}

pusher_actor::behavior_type pusher(pusher_self self, push_bus bus, std::shared_ptr<push_sender> sender,
                                   pusher_settings settings, stats_ptr stats) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.sender = std::move(sender);
  st.settings = settings;
  st.stats = std::move(stats);
  self->send(self, tick_atom::value);
  return {
    [self](pushowe_atom, push_owed_message& m) {
      self->request(self->state.bus, self->state.settings.bus_timeout, pushowe_atom::value, std::move(m))
        .then(
          [self](std::uint32_t opened, std::uint32_t folded) {
            self->state.stats->push_opened += opened;
            self->state.stats->push_folded += folded;
          },
          [](const caf::error&) {});
    },
    [self](tick_atom) {
      claim(self);
      self->delayed_send(self, self->state.settings.tick, tick_atom::value);
    },
    [self](pushsent_atom, const std::string& key, const std::string& endpoint, const push_outcome& o) {
      answered(self, key, endpoint, o);
    },
  };
}

} // namespace

std::string push_payload(const claimed_push& push) {
  nlohmann::json payload{{"room", push.room}, {"id", push.id}, {"user", push.sender},
                         {"text", push.text}, {"dm", push.dm}, {"count", push.count}};
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::int64_t push_retry_at(const pusher_settings& settings, std::uint32_t attempts, int retry_after,
                           std::int64_t now_ms) {
  if (retry_after >= 0)
    return now_ms + std::clamp<std::int64_t>(retry_after, 1, 3600) * 1000;
  auto wait = settings.first_backoff.count();
  for (std::uint32_t i = 0; i < attempts && wait < settings.max_backoff.count(); ++i)
    wait *= 2;
  return now_ms + std::min<std::int64_t>(wait, settings.max_backoff.count());
}

pusher_actor spawn_pusher(caf::actor_system& sys, push_bus bus, std::shared_ptr<push_sender> sender,
                          pusher_settings settings, stats_ptr stats) {
  return sys.spawn(pusher, std::move(bus), std::move(sender), settings, std::move(stats));
}

} // namespace chatnode

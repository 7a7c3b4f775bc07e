#include "actors/chat/session.hpp"

#include "actors/commands/command_call.hpp"
#include "actors/push/push_decision.hpp"

#include "actors/contracts/close_code.hpp"
#include "actors/contracts/interfaces.hpp"
#include "actors/chat/rate_limiter.hpp"
#include "actors/contracts/upload_ticket.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/people/directory.hpp"
#include "actors/people/moderation.hpp"
#include "actors/people/token.hpp"
#include "actors/previews/first_link.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

namespace chatnode {

namespace {

struct session_state {
  session_state() = default; // not an aggregate (see hub_state)

  sink_ptr sink;
  std::string id;
  hub_actor hub;
  session_bus bus;
  directory_actor directory;
  bool watching = false;                            ///< the room directory
  bool expiry_timer = false;                        ///< (1.2) the token's expiry timer is set
  std::shared_ptr<const session_settings> settings; ///< one for every session of the node
  stats_ptr stats;
  std::optional<rate_limiter> limiter;

  /// A room this session is in, or is being admitted to.
  struct membership {
    std::string name; ///< the name used there
    user_role role = user_role::member;
    bool admitted = false;        ///< the bus let it in (not banned; a party to a direct conversation)
    std::uint64_t join = 0;       ///< which join request made it
    std::vector<request> waiting; ///< requests for the room that came before the admission
    std::string cid;              ///< the join's, carried by its refusal
  };
  /// A sorted map: a session is in a few rooms, and an unordered map's
  /// bucket array would cost every idle connection 100 bytes more.
  std::map<std::string, membership> rooms;
  std::uint64_t joins = 0;
  /// With join tokens: who this connection is (its first valid token's sub).
  std::string identity;
  /// (1.2) The latest token's `name` claim: shown with this user's messages.
  std::string display;
  /// (1.2) With join tokens: when the latest accepted token expires
  /// (seconds since the epoch; 0: none accepted yet). The connection is
  /// closed then unless a fresh one came.
  std::int64_t token_expires = 0;
  /// When the upload tickets this connection holds expire.
  std::vector<std::int64_t> uploads;
  /// (1.2) The `send` whose files the catalog is looking up (the look-up's
  /// number: look_ups), and the stores that came after it, in order.
  std::optional<request> checking;
  std::uint64_t look_ups = 0;
  std::deque<request> behind_check;

  /// The room's membership, if admitted.
  membership* in(const std::string& room) {
    auto it = rooms.find(room);
    return it == rooms.end() || !it->second.admitted ? nullptr : &it->second;
  }

  void reply(std::string encoded) { sink->send(make_frame(std::move(encoded))); }

  void reply_error(error_code code, std::string_view reason, std::string_view cid = {}) {
    stats->count_error(code);
    reply(encode_error(code, reason, cid));
  }

  static inline const char* name = "session";
};

using session_self = session_actor::stateful_pointer<session_state>;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Requests that may wait for a join's admission, per room.
constexpr std::size_t max_waiting_per_join = 64;

void dispatch(session_self self, request& req);

/// Enters a room the bus admitted this session to.
void enter(session_self self, const std::string& room, std::uint64_t join, const admission& answer,
           std::optional<message_id> since, std::size_t page_size) {
  auto& st = self->state;
  auto it = st.rooms.find(room);
  if (it == st.rooms.end() || it->second.join != join)
    return; // left, or joined again, meanwhile
  auto waiting = std::move(it->second.waiting);
  if (answer.refused) {
    auto cid = std::move(it->second.cid);
    st.rooms.erase(it);
    st.reply_error(answer.refused->code, answer.refused->reason, cid);
    for (auto& req : waiting)
      if (req.type != request_type::typing)
        st.reply_error(error_code::not_joined, "the join was refused", req.cid);
    return;
  }
  it->second.admitted = true;
  self->send(
    st.hub, enter_atom::value,
    join_request{room, it->second.name, st.id, st.sink, since, page_size, answer.peer,
                 std::string{to_string(it->second.role)}, caf::actor_cast<caf::actor>(self), it->second.cid});
  for (auto& req : waiting)
    dispatch(self, req);
}

/// (1.2) The one timer that checks the token's expiry, set for it (a day
/// at most: a far expiry is checked again then, and no clock overflows).
void schedule_expiry(session_self self) {
  auto& st = self->state;
  st.expiry_timer = true;
  auto now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
  constexpr std::int64_t day_ms = 86'400'000;
  auto wait_ms = st.token_expires > INT64_MAX / 1000 - day_ms ? day_ms : st.token_expires * 1000 - now_ms;
  self->delayed_send(self, std::chrono::milliseconds{std::clamp<std::int64_t>(wait_ms, 0, day_ms)},
                     expire_atom::value);
}

/// (1.2) A token accepted for this connection: it lasts at least until its
/// `exp` (a later token may extend it).
void extend_token(session_self self, std::int64_t expires) {
  auto& st = self->state;
  st.token_expires = std::max(st.token_expires, expires);
  if (!st.expiry_timer)
    schedule_expiry(self);
}

/// (1.2) The expiry timer fired: the connection is closed with 4001 unless
/// a fresh token came meanwhile.
void on_expiry_timer(session_self self) {
  auto& st = self->state;
  st.expiry_timer = false;
  if (!st.sink)
    return;
  if (unix_seconds() < st.token_expires) {
    schedule_expiry(self);
    return;
  }
  st.reply_error(error_code::unauthorized, "token expired");
  st.sink->close(close_code::token_expired, "token expired");
}

/// The rules a token is checked by: the secret, the issuer's keys as held now.
struct held_rules {
  std::shared_ptr<const jwk_set> keys; ///< kept alive while the rules point at them
  token_rules rules;
};

held_rules rules_of(const session_settings& settings) {
  held_rules out;
  if (settings.issuer_keys)
    out.keys = settings.issuer_keys->get();
  out.rules = token_rules{settings.auth_secret, settings.issuer_keys != nullptr, out.keys.get(),
                          settings.expected_issuer, settings.expected_audience};
  return out;
}

using token_verdict = result<token_claims, token_problem>;

/// Checks a join's or renewal's token. A key the issuer's keys lack has the
/// keeper fetch them again (at most once per 30 s for the whole node) and
/// the token checked once more; `then` gets the verdict, at once (true
/// returned) or later (false).
bool check_token_then(session_self self, std::function<token_verdict(const token_rules&)> check,
                      std::function<void(const token_verdict&)> then) {
  auto& st = self->state;
  auto held = rules_of(*st.settings);
  auto verdict = check(held.rules);
  if (ok(verdict) || error_of(verdict) != token_problem::unknown_key || !st.settings->issuer_keeper) {
    then(verdict);
    return true;
  }
  auto again = [self, check, then] {
    auto held = rules_of(*self->state.settings);
    then(check(held.rules));
  };
  self->request(st.settings->issuer_keeper, std::chrono::seconds{10}, jwks_atom::value)
    .then([again](bool) { again(); }, [again](const caf::error&) { again(); });
  return false;
}

/// A verified token's claims taken for this connection: false (and nothing
/// taken) when they name another user than it has shown before.
bool take_claims(session_self self, const token_claims& claims) {
  auto& st = self->state;
  if (!st.identity.empty() && claims.name != st.identity)
    return false;
  st.identity = claims.name;
  st.display = claims.display;
  extend_token(self, claims.expires);
  return true;
}

constexpr std::string_view another_user = "token was issued for another user than this connection's";

/// Asks the bus to admit a join whose token (if any) was taken.
void admit_join(session_self self, const std::string& room, std::uint64_t join,
                std::optional<message_id> since, std::size_t page_size) {
  auto& st = self->state;
  auto name = st.rooms.at(room).name;
  self->request(st.bus, st.settings->bus_timeout, admit_atom::value, admit_request{room, name})
    .then([self, room, join, since,
           page_size](const admission& answer) { enter(self, room, join, answer, since, page_size); },
          [self, room, join](const caf::error&) {
            enter(
              self, room, join,
              admission{refusal{error_code::unavailable, "the room is unavailable; join again later"}, {}},
              std::nullopt, 0);
          });
}

/// What a join needs once its token is checked.
struct join_ask {
  std::string room;
  std::string name;
  std::string cid;
  std::optional<message_id> since;
  std::size_t page_size = 0;
  /// The room's entry made while the token waited for the issuer's keys
  /// (its join number); 0: none was made.
  std::uint64_t held = 0;
};

/// A join whose token was checked: refused, or on to the bus's admission.
void finish_join(session_self self, const join_ask& ask, const token_verdict& verdict) {
  auto& st = self->state;
  auto refuse = [&](std::string reason) {
    st.stats->count_limit(limit::auth);
    if (ask.held != 0) // the held entry goes, and requests that waited for it are answered
      enter(self, ask.room, ask.held, admission{refusal{error_code::unauthorized, std::move(reason)}, {}},
            std::nullopt, 0);
    else
      st.reply_error(error_code::unauthorized, reason, ask.cid);
  };
  if (!ok(verdict)) {
    refuse(std::string{describe(error_of(verdict))});
    return;
  }
  const auto& claims = std::get<token_claims>(verdict);
  if (!take_claims(self, claims)) {
    refuse(std::string{another_user});
    return;
  }
  auto join = ask.held;
  if (join == 0) {
    join = ++st.joins;
    st.rooms[ask.room] = {ask.name, claims.role, false, join, {}, ask.cid};
  } else {
    st.rooms.at(ask.room).role = claims.role;
  }
  admit_join(self, ask.room, join, ask.since, ask.page_size);
}

void handle_join(session_self self, request& req) {
  auto& st = self->state;
  bool dm = is_dm_room(req.room);
  if (!st.settings->tokens_required() && dm) {
    st.reply_error(error_code::forbidden, "direct messages need join tokens", req.cid);
    return;
  }
  if (!st.rooms.contains(req.room) && st.rooms.size() >= st.settings->max_rooms) {
    self->state.stats->count_limit(limit::rooms_per_session);
    st.reply_error(error_code::bad_request,
                   "too many rooms: at most " + std::to_string(st.settings->max_rooms), req.cid);
    return;
  }
  join_ask ask{req.room, req.name, req.cid, req.since, req.limit, 0};
  if (!st.settings->tokens_required()) {
    auto join = ++st.joins;
    st.rooms[req.room] = {req.name, user_role::member, false, join, {}, req.cid};
    admit_join(self, ask.room, join, ask.since, ask.page_size);
    return;
  }
  // A direct conversation is its two users', not the rooms claim's.
  auto check = [token = req.token, name = req.name, room = req.room, dm](const token_rules& rules) {
    return dm ? verify_identity(token, rules, name, unix_seconds())
              : verify_token(token, rules, name, room, unix_seconds());
  };
  auto pending = std::make_shared<join_ask>(ask);
  bool answered = check_token_then(self, check, [self, pending](const token_verdict& verdict) {
    auto& st = self->state;
    if (pending->held != 0) {
      auto it = st.rooms.find(pending->room);
      if (it == st.rooms.end() || it->second.join != pending->held)
        return; // left, or joined again, meanwhile
    }
    finish_join(self, *pending, verdict);
  });
  // While the issuer's keys are fetched, requests for a room not joined yet
  // wait for this join, as they wait for its admission.
  if (!answered && !st.rooms.contains(req.room)) {
    pending->held = ++st.joins;
    st.rooms[req.room] = {req.name, user_role::member, false, pending->held, {}, req.cid};
  }
}

/// (1.2) A fresh token for the connection's user: its joins last past the
/// old token's expiry.
void handle_auth(session_self self, const request& req) {
  auto& st = self->state;
  if (!st.settings->tokens_required()) {
    st.reply_error(error_code::bad_request, "this node takes no tokens", req.cid);
    return;
  }
  auto check = [token = req.token, name = st.identity](const token_rules& rules) {
    return verify_identity(token, rules, name, unix_seconds());
  };
  check_token_then(self, check, [self, cid = req.cid](const token_verdict& verdict) {
    auto& st = self->state;
    if (!st.sink)
      return; // closed meanwhile
    if (!ok(verdict)) {
      st.stats->count_limit(limit::auth);
      st.reply_error(error_code::unauthorized, describe(error_of(verdict)), cid);
      return;
    }
    if (!take_claims(self, std::get<token_claims>(verdict))) {
      st.stats->count_limit(limit::auth);
      st.reply_error(error_code::unauthorized, another_user, cid);
      return;
    }
    st.reply(encode_auth(st.token_expires, cid));
  });
}

/// A moderator acts on a user in a room they are in.
void handle_moderate(session_self self, request& req) {
  auto& st = self->state;
  auto* member = st.in(req.room);
  if (member == nullptr) {
    st.reply_error(error_code::not_joined, "join the room before moderating it", req.cid);
    return;
  }
  if (member->role == user_role::member) {
    st.reply_error(error_code::forbidden, "only moderators and admins may moderate", req.cid);
    return;
  }
  moderation_request action{req.room, member->name, req.action, req.user, req.seconds};
  st.stats->count_moderation(req.action);
  if (st.settings->on_moderation)
    st.settings->on_moderation(action);
  // The moderation event reaches this session through the hub with the room.
  self->request(st.bus, st.settings->bus_timeout, moderate_atom::value, std::move(action))
    .then([](const store_result&) {},
          [self, cid = req.cid](const caf::error&) {
            self->state.reply_error(error_code::unavailable, "the moderation could not be stored", cid);
          });
}

/// A page of the room directory; with `watch`, room_update events after it.
void handle_rooms(session_self self, request& req) {
  auto& st = self->state;
  auto offset = req.offset;
  auto limit = req.limit;
  auto watch = req.watch;
  self->request(st.bus, st.settings->bus_timeout, rooms_atom::value)
    .then(
      [self, offset, limit, watch](const directory_listing& listing) {
        auto& st = self->state;
        auto page = page_of(listing, offset, limit);
        st.reply(encode_rooms(page.rooms, page.next));
        if (watch && !std::exchange(st.watching, true))
          self->send(st.directory, watch_atom::value, directory_watcher{st.id, st.sink, listing});
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the directory is unavailable", cid);
      });
}

/// Direct conversations need to know who the user is: a join secret, and a
/// token this connection has shown. False (answered) when not.
bool knows_identity(session_self self, const request& req, const char* what = "direct messages") {
  auto& st = self->state;
  if (!st.settings->tokens_required()) {
    st.reply_error(error_code::forbidden, std::string{what} + " need join tokens", req.cid);
    return false;
  }
  if (st.identity.empty()) {
    st.reply_error(error_code::forbidden, "join a room with your token first: it says who you are", req.cid);
    return false;
  }
  return true;
}

/// The user's direct conversations.
void handle_dms(session_self self, const request& req) {
  auto& st = self->state;
  if (!knows_identity(self, req))
    return;
  self->request(st.bus, st.settings->bus_timeout, dms_atom::value, st.identity)
    .then([self](const conversation_list& list) { self->state.reply(encode_conversations(list)); },
          [self, cid = req.cid](const caf::error&) {
            self->state.reply_error(error_code::unavailable, "the conversations are unavailable", cid);
          });
}

/// (1.2) The deployment's VAPID public key, which a browser's subscription
/// is bound to.
void handle_push_key(session_self self, const request& req) {
  auto& st = self->state;
  if (!st.settings->push) {
    st.reply_error(error_code::unavailable, "push notifications are off on this node", req.cid);
    return;
  }
  if (auto key = st.settings->push->get()) {
    st.reply(encode_push_key(key->public_key, req.cid));
    return;
  }
  auto problem = st.settings->push->problem();
  st.reply_error(error_code::unavailable,
                 problem ? *problem : "the push key is not known yet: try again shortly", req.cid);
}

/// (1.2) A user's push subscriptions and levels: theirs only, so a user
/// known by a token.
bool may_push(session_self self, const request& req) {
  auto& st = self->state;
  if (!st.settings->push) {
    st.reply_error(error_code::unavailable, "push notifications are off on this node", req.cid);
    return false;
  }
  return knows_identity(self, req, "push notifications");
}

/// (1.2) Whether an endpoint's host is one the operator listed (any, when
/// none is): the host between "://" and the path, without user info or
/// port. The node checks it again, parsed as a URL, at every push.
bool push_host_listed(std::string_view endpoint, const std::vector<std::string>& allowed) {
  if (allowed.empty())
    return true;
  auto start = endpoint.find("://");
  if (start == std::string_view::npos)
    return false;
  auto authority = endpoint.substr(start + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() != '[')
    authority = authority.substr(0, authority.find(':'));
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& host) {
    return host.size() == authority.size() &&
           std::equal(host.begin(), host.end(), authority.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  });
}

/// (1.2) Keeps or forgets a browser's push subscription for the user.
void handle_push_subscription(session_self self, request& req) {
  auto& st = self->state;
  if (!may_push(self, req))
    return;
  bool subscribing = req.type == request_type::push_subscribe;
  if (subscribing && req.endpoint.starts_with("http://") && !st.settings->push_allow_http_endpoints) {
    st.reply_error(error_code::bad_request, "endpoint must be https", req.cid);
    return;
  }
  if (subscribing && !push_host_listed(req.endpoint, st.settings->push_allowed_hosts)) {
    st.reply_error(error_code::bad_request, "this node does not push to that push service", req.cid);
    return;
  }
  auto done = [self, subscribing, endpoint = req.endpoint, cid = req.cid](bool kept) {
    auto& st = self->state;
    if (subscribing && kept)
      st.settings->push->set_subscribed();
    if (subscribing && !kept)
      st.reply_error(error_code::forbidden,
                     "at most " + std::to_string(max_push_subscriptions) +
                       " push subscriptions per user: unsubscribe one first",
                     cid);
    else
      st.reply(
        encode_push_subscription(subscribing ? "push_subscribed" : "push_unsubscribed", endpoint, cid));
  };
  auto failed = [self, cid = req.cid](const caf::error&) {
    self->state.reply_error(error_code::unavailable, "the push subscription could not be kept", cid);
  };
  if (subscribing)
    self
      ->request(st.bus, st.settings->bus_timeout, pushsub_atom::value,
                push_subscription{st.identity, req.endpoint, req.p256dh, req.push_secret})
      .then(done, failed);
  else
    self->request(st.bus, st.settings->bus_timeout, pushunsub_atom::value, st.identity, req.endpoint)
      .then(done, failed);
}

/// (1.2) The user's level in a room; their sessions on every node are told.
void handle_notify(session_self self, request& req) {
  auto& st = self->state;
  if (!may_push(self, req))
    return;
  self
    ->request(st.bus, st.settings->bus_timeout, notify_atom::value,
              notify_setting{st.identity, req.room, req.level})
    .then(
      [self, cid = req.cid](bool kept) {
        if (!kept)
          self->state.reply_error(
            error_code::forbidden,
            "levels are kept for at most " + std::to_string(max_notify_levels) + " rooms per user", cid);
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the level could not be kept", cid);
      });
}

/// (1.2) The user's levels, in every room they set one.
void handle_notify_levels(session_self self, request& req) {
  auto& st = self->state;
  if (!may_push(self, req))
    return;
  self->request(st.bus, st.settings->bus_timeout, notifylv_atom::value, st.identity)
    .then(
      [self, cid = req.cid](const std::vector<notify_setting>& levels) {
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& l : levels)
          pairs.emplace_back(l.room, l.level);
        self->state.reply(encode_notify_levels(pairs, cid));
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the levels could not be read", cid);
      });
}

/// Opens the direct conversation with another user and joins it.
void handle_dm(session_self self, request& req) {
  auto& st = self->state;
  if (!knows_identity(self, req))
    return;
  if (req.user == st.identity) {
    st.reply_error(error_code::bad_request, "a direct conversation needs another user", req.cid);
    return;
  }
  auto peer = req.user;
  self->request(st.bus, st.settings->bus_timeout, dm_atom::value, dm_request{st.identity, req.user})
    .then(
      [self, cid = req.cid](const std::string& room) {
        auto& st = self->state;
        if (room.empty()) {
          st.reply_error(
            error_code::forbidden,
            "too many direct conversations: at most " + std::to_string(max_conversations_per_user), cid);
          return;
        }
        if (!st.rooms.contains(room) && st.rooms.size() >= st.settings->max_rooms) {
          st.stats->count_limit(limit::rooms_per_session);
          st.reply_error(error_code::bad_request,
                         "too many rooms: at most " + std::to_string(st.settings->max_rooms), cid);
          return;
        }
        auto join = ++st.joins;
        st.rooms[room] = {st.identity, user_role::member, false, join, {}, {}};
        self->request(st.bus, st.settings->bus_timeout, admit_atom::value, admit_request{room, st.identity})
          .then([self, room, join, size = st.settings->limits.default_page_size](
                  const admission& answer) { enter(self, room, join, answer, std::nullopt, size); },
                [self, cid](const caf::error&) {
                  self->state.reply_error(error_code::unavailable, "the conversation is unavailable", cid);
                });
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the conversation could not be opened", cid);
      });
}

/// (1.2) The files a `send` names, checked against what the catalog found:
/// each uploaded by this user to this room, and not sent yet.
files_checked check_files(const file_catalog::found_files& found, const std::vector<std::string>& ids,
                          const std::string& user, const std::string& room) {
  files_checked checked;
  if (found.failed || found.files.size() != ids.size()) {
    checked.unavailable = true;
    return checked;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& f = found.files[i];
    if (!f || f->user != user || f->room != room) {
      checked.refusal = "file " + ids[i] + " is not one you uploaded to this room";
      return checked;
    }
    if (f->sent) {
      checked.refusal = "file " + ids[i] + " was sent already";
      return checked;
    }
    checked.files.push_back(f->file);
  }
  return checked;
}

void store_now(session_self self, request& req, std::vector<shared_file> files);

/// Sends a message or a change to the bus. A `send` with files first has
/// them looked up in the catalog, which may answer later: stores that come
/// meanwhile wait behind it, so that a connection's messages keep their order.
void handle_store(session_self self, request& req) {
  auto& st = self->state;
  if (st.checking) {
    if (st.behind_check.size() >= max_waiting_per_join) {
      st.reply_error(error_code::rate_limited, "too many requests while files are looked up", req.cid);
      return;
    }
    st.behind_check.push_back(std::move(req));
    return;
  }
  auto* member = st.in(req.room);
  if (member == nullptr) {
    st.reply_error(error_code::not_joined,
                   req.type == request_type::send ? "join the room before sending to it"
                                                  : "join the room before changing its messages",
                   req.cid);
    return;
  }
  if (req.type != request_type::send || req.files.empty()) {
    store_now(self, req, {});
    return;
  }
  const auto& catalog = st.settings->uploads.catalog;
  if (!catalog || !st.settings->uploads.secret) {
    st.reply_error(error_code::bad_request, "this node takes no uploads", req.cid);
    return;
  }
  auto number = ++st.look_ups;
  auto ids = req.files;
  st.checking = std::move(req);
  catalog->look_up(ids, [me = caf::actor_cast<session_actor>(self), number, ids, user = member->name,
                         room = st.checking->room](file_catalog::found_files found) {
    caf::anon_send(me, files_atom::value, number, check_files(found, ids, user, room));
  });
}

/// The catalog's answer for the `send` waiting on it; then the stores behind it.
void on_files_checked(session_self self, std::uint64_t number, files_checked& checked) {
  auto& st = self->state;
  if (!st.checking || number != st.look_ups)
    return;
  auto req = std::move(*st.checking);
  st.checking.reset();
  if (checked.unavailable)
    st.reply_error(error_code::unavailable, "the file store did not answer: try again", req.cid);
  else if (!checked.refusal.empty())
    st.reply_error(error_code::bad_request, checked.refusal, req.cid);
  else if (st.in(req.room) == nullptr)
    st.reply_error(error_code::not_joined, "join the room before sending to it", req.cid);
  else
    store_now(self, req, std::move(checked.files));
  while (!st.checking && !st.behind_check.empty()) {
    auto next = std::move(st.behind_check.front());
    st.behind_check.pop_front();
    handle_store(self, next);
  }
}

/// (1.2) The slash commands the node knows, for the client to offer.
void handle_commands(session_self self, const request& req) {
  auto& st = self->state;
  std::vector<command_entry> list;
  if (st.settings->commands)
    for (const auto& c : *st.settings->commands)
      list.push_back({c.name, c.description, c.usage, c.rooms});
  st.reply(encode_commands(list, req.cid));
}

/// (1.2) A slash command typed in a room: its runner calls it; the caller
/// is told what came of it (its answer posted in the room comes as any message).
void run_command(session_self self, const request& req, const std::string& user, typed_command typed) {
  auto& st = self->state;
  command_request call{req.room, user, typed.name, std::move(typed.args), req.cid, req.thread};
  self->request(st.settings->command_runner, std::chrono::seconds{15}, command_atom::value, std::move(call))
    .then(
      [self, room = req.room, name = typed.name, cid = req.cid](const command_result& r) {
        if (r.refused) {
          self->state.reply_error(r.refused->code, r.refused->reason, cid);
          return;
        }
        self->state.reply(encode_command(room, name, cid, r.text, r.posted));
      },
      [self, cid = req.cid, name = typed.name](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "/" + name + " did not answer", cid);
      });
}

/// A store, its files checked. A stored one is acknowledged by its echo
/// through the hub; one that was not published (a repeated cid, a reaction
/// already so) is answered here, as is a refusal.
void store_now(session_self self, request& req, std::vector<shared_file> files) {
  auto& st = self->state;
  auto* member = st.in(req.room);
  // (1.2) With commands, `/name args` calls one, and "//" starts a message with "/".
  if (req.type == request_type::send && st.settings->command_runner && req.text.starts_with('/')) {
    if (req.text.starts_with("//")) {
      req.text.erase(0, 1);
    } else if (auto typed = command_of(req.text)) {
      if (!files.empty()) {
        st.reply_error(error_code::bad_request, "a command takes no files", req.cid);
        return;
      }
      run_command(self, req, member->name, std::move(*typed));
      return;
    }
  }
  store_request store;
  store.room = req.room;
  store.user = member->name;
  store.moderator = member->role != user_role::member;
  store.text = std::move(req.text);
  store.cid = req.cid;
  store.target = req.target;
  store.emoji = std::move(req.emoji);
  store.on = req.on;
  store.reply_to = req.reply_to;
  store.thread = req.thread;
  store.files = std::move(files);
  if (req.type == request_type::send)
    store.display = st.display;
  switch (req.type) {
    case request_type::edit: store.change = change_kind::edit; break;
    case request_type::remove: store.change = change_kind::remove; break;
    case request_type::react: store.change = change_kind::reaction; break;
    default: break;
  }
  auto what = store.change ? "the change" : "the message";
  auto cid = std::move(req.cid);
  // (1.2) Its first link is previewed once it is stored: never before. Only
  // a message with a link pays for the job's copies.
  std::optional<preview_job> preview;
  if (!store.change && st.settings->previewer)
    if (auto link = first_link(store.text); !link.empty())
      preview = preview_job{store.room, {}, store.user, std::move(link)};
  // (1.2) A new message may owe pushes once it is stored.
  std::optional<push_owed_message> push;
  if (!store.change && st.settings->pusher && st.settings->push && st.settings->push->anyone_subscribed())
    push = owed_push(store.room, {}, store.user, store.text);
  self->request(st.bus, st.settings->bus_timeout, store_atom::value, std::move(store))
    .then(
      [self, cid, preview = std::move(preview), push = std::move(push)](const store_result& result) mutable {
        if (result.refused) {
          self->state.reply_error(result.refused->code, result.refused->reason, cid);
          return;
        }
        if (result.duplicate) {
          self->state.sink->send(result.message.frame);
          return;
        }
        if (preview) {
          preview->target = result.message.id;
          self->send(self->state.settings->previewer, preview_atom::value, std::move(*preview));
        }
        if (push) {
          push->id = result.message.id.to_string();
          self->send(self->state.settings->pusher, pushowe_atom::value, std::move(*push));
        }
      },
      [self, cid, what](const caf::error&) {
        self->state.reply_error(error_code::unavailable, std::string{what} + " could not be stored", cid);
      });
}

void handle_read(session_self self, request& req) {
  auto& st = self->state;
  auto* member = st.in(req.room);
  if (member == nullptr) {
    st.reply_error(error_code::not_joined, "not in this room", req.cid);
    return;
  }
  std::optional<message_id> root;
  if (req.type == request_type::thread_read)
    root = req.thread;
  self
    ->request(st.bus, st.settings->bus_timeout, read_atom::value,
              read_request{req.room, member->name, req.read, root})
    .then(
      [self, cid = req.cid](const read_result& result) {
        // A position that moved reaches this session through the hub with
        // the user's others.
        if (result.refused)
          self->state.reply_error(result.refused->code, result.refused->reason, cid);
        else if (!result.published)
          self->state.sink->send(result.frame);
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the read position could not be stored", cid);
      });
}

/// (1.2) The threads of a room the user follows.
void handle_threads(session_self self, request& req) {
  auto& st = self->state;
  auto* member = st.in(req.room);
  if (member == nullptr) {
    st.reply_error(error_code::not_joined, "not in this room", req.cid);
    return;
  }
  self->request(st.bus, st.settings->bus_timeout, threads_atom::value, threads_query{req.room, member->name})
    .then(
      [self, room = req.room](const followed_threads& threads) {
        self->state.sink->send(make_frame(encode_threads(room, threads)));
      },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "the threads you follow could not be read", cid);
      });
}

/// A page of history, or of a thread (`query.thread`), as its event.
std::string encode_page_of(const history_query& query, const message_page& page) {
  return query.thread ? encode_thread(query.room, *query.thread, page) : encode_history(query.room, page);
}

/// A history or thread page: from the bus, and where the bus's retention
/// ends before the page is full, continued from the archive (older than
/// the bus's oldest, so nothing twice at the seam).
void handle_page(session_self self, request& req) {
  auto& st = self->state;
  if (st.in(req.room) == nullptr) {
    st.reply_error(error_code::not_joined,
                   req.type == request_type::thread ? "join the room before reading its threads"
                                                    : "join the room before reading its history",
                   req.cid);
    return;
  }
  history_query query{req.room, req.before, req.limit,
                      req.type == request_type::thread ? req.thread : std::nullopt};
  self->request(st.bus, st.settings->bus_timeout, history_atom::value, query)
    .then(
      [self, query, cid = req.cid](message_page& page) {
        auto& st = self->state;
        if (!st.settings->archive || page.messages.size() >= query.limit) {
          st.reply(encode_page_of(query, page));
          return;
        }
        auto rest = query;
        rest.before =
          page.messages.empty() ? query.before : std::optional<message_id>{page.messages.front().id};
        rest.limit = query.limit - page.messages.size();
        self->request(st.settings->archive, st.settings->bus_timeout, history_atom::value, rest)
          .then(
            [self, query, page](message_page& older) {
              older.messages.insert(older.messages.end(), page.messages.begin(), page.messages.end());
              self->state.reply(encode_page_of(query, older));
            },
            // The archive is away: what the bus has, and `more` as it says;
            // past the bus's end, an error the client may retry, not an end.
            [self, query, page, cid](const caf::error&) {
              if (page.messages.empty())
                self->state.reply_error(error_code::unavailable,
                                        "older messages are in the archive, which is away: try again", cid);
              else
                self->state.reply(encode_page_of(query, page));
            });
      },
      [self, query, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable,
                                query.thread ? "the thread is unavailable" : "history is unavailable", cid);
      });
}

/// A search of the room's archived messages. Like history it needs the room
/// joined, where access is checked; a direct conversation the user is not a
/// party to (or cannot be, without identities) is `forbidden`.
void handle_search(session_self self, request& req) {
  auto& st = self->state;
  if (!st.settings->archive) {
    st.reply_error(error_code::unavailable, "search needs an archive", req.cid);
    return;
  }
  if (st.in(req.room) == nullptr) {
    // Not joined: `forbidden` where a join would be refused (banned, or not
    // a party to a direct conversation), else `not_joined`.
    self->request(st.bus, st.settings->bus_timeout, admit_atom::value, admit_request{req.room, st.identity})
      .then(
        [self, cid = req.cid](const admission& answer) {
          if (answer.refused)
            self->state.reply_error(error_code::forbidden, answer.refused->reason, cid);
          else
            self->state.reply_error(error_code::not_joined, "join the room before searching it", cid);
        },
        [self, cid = req.cid](const caf::error&) {
          self->state.reply_error(error_code::not_joined, "join the room before searching it", cid);
        });
    return;
  }
  auto room = req.room;
  auto words = req.text;
  self
    ->request(st.settings->archive, st.settings->bus_timeout, search_atom::value,
              search_query{req.room, req.text, req.before, req.limit})
    .then(
      [self, room, words](const message_page& page) { self->state.reply(encode_search(room, words, page)); },
      [self, cid = req.cid](const caf::error&) {
        self->state.reply_error(error_code::unavailable, "search is unavailable (the archive is away)", cid);
      });
}

void handle_frame(session_self self, const std::string& frame) {
  auto& st = self->state;
  self->state.stats->messages_in.fetch_add(1, std::memory_order_relaxed);
  auto decoded = decode_request(frame, st.settings->limits);
  // Every frame costs a token, a bad one too; decoding first lets the
  // rate_limited answer carry the cid.
  if (!st.limiter->try_take()) {
    self->state.stats->count_limit(limit::rate);
    auto* req = std::get_if<request>(&decoded);
    st.reply_error(error_code::rate_limited, "too many messages: slow down",
                   req ? std::string_view{req->cid} : std::string_view{std::get<decode_error>(decoded).cid});
    return;
  }
  if (auto* err = std::get_if<decode_error>(&decoded)) {
    if (err->too_deep)
      self->state.stats->count_limit(limit::json_depth);
    st.reply_error(err->code, err->reason, err->cid);
    return;
  }
  dispatch(self, std::get<request>(decoded));
}

bool type_refused(const std::vector<std::string>& refused, std::string_view mime) {
  auto family = mime.substr(0, mime.find('/'));
  for (const auto& r : refused)
    if (r == mime || (r.ends_with("/*") && std::string_view{r}.substr(0, r.size() - 2) == family))
      return true;
  return false;
}

/// (1.2) A ticket to PUT a file's bytes to, sealed with the node's upload secret.
void handle_upload(session_self self, request& req) {
  auto& st = self->state;
  const auto& policy = st.settings->uploads;
  if (!policy.secret) {
    st.reply_error(error_code::bad_request, "this node takes no uploads", req.cid);
    return;
  }
  auto secret = policy.secret->get();
  if (!secret) {
    st.reply_error(error_code::unavailable, "uploads wait for the bus: try again shortly", req.cid);
    return;
  }
  if (policy.catalog && !policy.catalog->reachable()) {
    st.reply_error(error_code::unavailable, "the file store is unreachable: try again later", req.cid);
    return;
  }
  auto* member = st.in(req.room);
  if (member == nullptr) {
    st.reply_error(error_code::not_joined, "join the room before uploading to it", req.cid);
    return;
  }
  if (req.file_size > policy.max_bytes) {
    st.reply_error(error_code::too_large,
                   "files are limited to " + std::to_string(policy.max_bytes) + " bytes", req.cid);
    return;
  }
  if (type_refused(policy.refused_types, req.mime)) {
    st.reply_error(error_code::forbidden, "files of type " + req.mime + " are not accepted here", req.cid);
    return;
  }
  auto now = unix_seconds();
  std::erase_if(st.uploads, [now](std::int64_t expires) { return expires <= now; });
  if (st.uploads.size() >= policy.max_open) {
    st.reply_error(error_code::rate_limited,
                   "at most " + std::to_string(policy.max_open) + " uploads at once on one connection",
                   req.cid);
    return;
  }
  // The slot is held while the bus counts the quota, so that requests in
  // flight cannot pass the limit on open uploads either.
  auto expires = now + upload_ticket_seconds;
  st.uploads.push_back(expires);
  upload_ticket ticket{new_file_id(), member->name,        req.room, std::move(req.file_name),
                       req.file_size, std::move(req.mime), expires};
  auto release = [self, expires] {
    auto& held = self->state.uploads;
    if (auto it = std::find(held.begin(), held.end(), expires); it != held.end())
      held.erase(it);
  };
  self
    ->request(st.bus, st.settings->bus_timeout, quota_atom::value, member->name, req.file_size,
              policy.daily_bytes)
    .then(
      [self, ticket = std::move(ticket), secret, cid = req.cid, release](bool counted) {
        auto& st = self->state;
        if (!counted) {
          release();
          st.reply_error(error_code::rate_limited,
                         "the daily upload quota of " + std::to_string(st.settings->uploads.daily_bytes) +
                           " bytes is used up",
                         cid);
          return;
        }
        st.reply(
          encode_upload(ticket.room, ticket.file, "/files/upload/" + seal_ticket(ticket, *secret), cid));
      },
      [self, cid = req.cid, release](const caf::error&) {
        release();
        self->state.reply_error(error_code::unavailable, "uploads wait for the bus: try again shortly", cid);
      });
}

void dispatch(session_self self, request& req) {
  auto& st = self->state;
  // A request for a room whose join the bus has not answered yet waits for
  // that answer, so that a client may send right after its join.
  if (auto it = st.rooms.find(req.room); it != st.rooms.end() && !it->second.admitted &&
                                         req.type != request_type::join && req.type != request_type::leave &&
                                         req.type != request_type::dm && req.type != request_type::rooms &&
                                         req.type != request_type::dms) {
    if (it->second.waiting.size() >= max_waiting_per_join) {
      st.reply_error(error_code::rate_limited, "too many requests before the join was answered", req.cid);
      return;
    }
    it->second.waiting.push_back(std::move(req));
    return;
  }
  switch (req.type) {
    case request_type::join: handle_join(self, req); break;
    case request_type::auth: handle_auth(self, req); break;
    case request_type::commands: handle_commands(self, req); break;
    case request_type::leave:
      if (st.rooms.erase(req.room) == 0) {
        st.reply_error(error_code::not_joined, "not in this room", req.cid);
        return;
      }
      self->send(st.hub, leave_atom::value, req.room, st.id);
      break;
    case request_type::send:
    case request_type::edit:
    case request_type::remove:
    case request_type::react: handle_store(self, req); break;
    case request_type::read:
    case request_type::thread_read: handle_read(self, req); break;
    case request_type::threads: handle_threads(self, req); break;
    case request_type::moderate: handle_moderate(self, req); break;
    case request_type::dm: handle_dm(self, req); break;
    case request_type::rooms: handle_rooms(self, req); break;
    case request_type::dms: handle_dms(self, req); break;
    case request_type::push_key: handle_push_key(self, req); break;
    case request_type::push_subscribe:
    case request_type::push_unsubscribe: handle_push_subscription(self, req); break;
    case request_type::notify: handle_notify(self, req); break;
    case request_type::notify_levels: handle_notify_levels(self, req); break;
    case request_type::history:
    case request_type::thread: handle_page(self, req); break;
    case request_type::search: handle_search(self, req); break;
    case request_type::upload: handle_upload(self, req); break;
    case request_type::members:
      if (st.in(req.room) == nullptr) {
        st.reply_error(error_code::not_joined, "join the room before listing its members", req.cid);
        return;
      }
      self->send(st.hub, members_atom::value, req.room,
                 members_query{st.id, std::move(req.after), req.limit});
      break;
    case request_type::typing: {
      auto* member = st.in(req.room);
      if (member == nullptr) {
        st.reply_error(error_code::not_joined, "not in this room", req.cid);
        return;
      }
      self->send(st.bus, typing_atom::value, req.room, member->name, st.id);
      break;
    }
  }
}

session_actor::behavior_type session(session_self self, sink_ptr sink, std::string id, hub_actor hub,
                                     session_bus bus, directory_actor directory,
                                     std::shared_ptr<const session_settings> settings, stats_ptr stats) {
  auto& st = self->state;
  st.stats = std::move(stats);
  st.sink = std::move(sink);
  st.id = std::move(id);
  st.hub = std::move(hub);
  st.bus = std::move(bus);
  st.directory = std::move(directory);
  st.settings = std::move(settings);
  st.limiter.emplace(st.settings->rate_per_second, st.settings->rate_burst);
  const auto& uploads = st.settings->uploads;
  st.reply(encode_welcome(st.settings->node, st.id, st.settings->tokens_required(),
                          !uploads.secret || !uploads.catalog ? 0 : uploads.max_bytes));
  return {
    [self](frame_atom, const std::string& frame) {
      handle_frame(self, frame);
      self->state.sink->frame_handled();
    },
    [self](binary_atom) {
      self->state.reply_error(error_code::bad_json, "binary frames are not accepted");
      self->state.sink->frame_handled();
    },
    [self](kicked_atom, const std::string& room) { self->state.rooms.erase(room); },
    [self](expire_atom) { on_expiry_timer(self); },
    [self](files_atom, std::uint64_t number, files_checked& checked) {
      on_files_checked(self, number, checked);
    },
    [self](closed_atom) {
      auto& st = self->state;
      for (const auto& [room, member] : st.rooms)
        if (member.admitted)
          self->send(st.hub, leave_atom::value, room, st.id);
      st.rooms.clear();
      if (st.watching)
        self->send(st.directory, unwatch_atom::value, st.id);
      st.sink.reset();
      self->quit();
    },
  };
}

} // namespace

session_actor spawn_session(caf::actor_system& sys, sink_ptr sink, std::string session_id, hub_actor hub,
                            session_bus bus, directory_actor directory,
                            std::shared_ptr<const session_settings> settings, stats_ptr stats) {
  return sys.spawn(session, std::move(sink), std::move(session_id), std::move(hub), std::move(bus),
                   std::move(directory), std::move(settings), std::move(stats));
}

} // namespace chatnode

#include "actors/embedded_bus/embedded_bus.hpp"

#include "actors/embedded_bus/history.hpp"
#include "actors/embedded_bus/link_cache.hpp"
#include "actors/embedded_bus/push_registry.hpp"
#include "actors/push/push_decision.hpp"
#include "actors/push/push_queue.hpp"
#include "actors/people/moderation.hpp"
#include "actors/contracts/messages.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/mentions.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <iterator>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace chatnode {

namespace {

struct room_presence {
  std::map<std::string, std::size_t> names; ///< name -> nodes reporting it (one node here)
  std::uint64_t version = 0;
};

struct embedded_bus_state {
  bus_settings settings;
  stats_ptr stats;
  std::unordered_map<std::string, room_history> rooms;
  std::unordered_map<std::string, room_presence> presence; ///< rooms with someone in them
  /// Presence events published in every room so far. A room's versions start
  /// from it when someone enters the empty room, so they never go back,
  /// though nothing is kept of a room once it is empty: a hub can still hear
  /// the last leaves after entering the room again, and takes them for old.
  std::uint64_t presence_events = 0;
  std::unordered_map<std::string, std::unordered_set<hub_actor>> subscribers;
  std::unordered_map<std::string, room_rules> rules; ///< rooms with bans or mutes
  /// Direct conversations: room -> its two users.
  std::unordered_map<std::string, std::pair<std::string, std::string>> conversations;
  /// user -> their conversations (room, peer), in the order opened.
  std::unordered_map<std::string, conversation_list> user_conversations;
  /// The archive, told of every entry stored; none without one.
  archive_actor archive;
  std::size_t hold = 0; ///< entries per room held for the archive at most
  /// (1.2) The webhook sender, told of every entry of the rooms it takes; none without one.
  webhook_actor webhooks;
  std::size_t hook_hold = 0; ///< entries per room held for it at most
  bool hook_private = false; ///< it takes `_` rooms and direct conversations too
  /// (1.2) Rooms whose next entry's webhook has been failing, since (wall ms).
  std::unordered_map<std::string, std::int64_t> hook_failing;
  link_cache previews;        ///< (1.2) links fetched within the hour
  push_registry push;         ///< (1.2) push subscriptions and levels, per user
  push_queue pushes{30000};   ///< (1.2) pushes owed and being sent (in memory)
  bool push_save_due = false; ///< a write of `push` is on the timer

  room_history& room(const std::string& name) {
    auto [it, added] = rooms.try_emplace(name, settings.retention);
    if (added) {
      it->second.set_archived(archive != nullptr, hold);
      it->second.set_hooked(hooked(name), hook_hold);
    }
    return it->second;
  }

  bool hooked(const std::string& room) const {
    return webhooks != nullptr && webhook_room(room, hook_private);
  }

  static inline const char* name = "embedded_bus";
};

/// Who is in a room, and the version of the last presence event there.
presence_snapshot presence_of(const embedded_bus_state& st, const std::string& room) {
  presence_snapshot snapshot;
  if (auto it = st.presence.find(room); it != st.presence.end()) {
    for (const auto& [name, count] : it->second.names)
      snapshot.members.push_back(name);
    snapshot.version = it->second.version;
  }
  return snapshot;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

using bus_self = bus_actor::stateful_pointer<embedded_bus_state>;

/// Sends an event to every hub subscribed to a room.
template <class... Ts>
void publish(bus_self self, const std::string& room, const Ts&... xs) {
  if (auto it = self->state.subscribers.find(room); it != self->state.subscribers.end())
    for (const auto& hub : it->second)
      self->send(hub, xs...);
}

bool muted(const embedded_bus_state& st, const std::string& room, const std::string& user) {
  auto it = st.rules.find(room);
  return it != st.rules.end() && it->second.muted(user, now_ms());
}

/// Tells the archive and the webhooks (those there are) that a room has a new entry.
void tell_followers(bus_self self, const std::string& room, message_id id) {
  if (self->state.archive)
    self->send(self->state.archive, archive_atom::value, archive_notice{room, id, true});
  if (self->state.hooked(room))
    self->send(self->state.webhooks, webhook_atom::value, archive_notice{room, id, true});
}

/// (1.2) After a store: a deleted message's files, and those of messages
/// that left the retention with no archive to keep them, are removed (this
/// bus is the only one: on every node); a new message's files are sent.
void settle_files(const file_catalog& files, room_history& room, const store_request& req,
                  std::vector<std::string> gone) {
  auto dropped = room.take_dropped_files();
  gone.insert(gone.end(), std::make_move_iterator(dropped.begin()), std::make_move_iterator(dropped.end()));
  if (!gone.empty())
    files.remove(gone);
  std::vector<std::string> sent;
  for (const auto& f : req.files)
    sent.push_back(f.file);
  if (!sent.empty())
    files.mark_sent(sent);
}

store_result store(bus_self self, const store_request& req) {
  if (muted(self->state, req.room, req.user))
    return {{}, false, refusal{error_code::forbidden, "you are muted in this room"}};
  auto& room = self->state.room(req.room);
  auto deleted_files =
    req.change == change_kind::remove ? room.files_of(req.target) : std::vector<std::string>{};
  auto stored = room.append(req, now_ms());
  if (!stored.duplicate && !stored.refused && self->state.settings.files)
    settle_files(*self->state.settings.files, room, req, std::move(deleted_files));
  if (!stored.duplicate && !stored.refused) {
    self->state.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
    auto live = stored.message;
    live.received_ns = steady_now_ns();
    publish(self, req.room, deliver_atom::value, req.room, live);
    tell_followers(self, req.room, stored.message.id);
  }
  return stored;
}

room_snapshot snapshot(bus_self self, const recent_query& query) {
  room_snapshot snapshot;
  if (auto it = self->state.rooms.find(query.room); it != self->state.rooms.end()) {
    if (query.since) {
      auto since = it->second.after(*query.since);
      snapshot.history = std::move(since.messages);
      snapshot.changes = std::move(since.changes);
    } else {
      snapshot.history = it->second.page(std::nullopt, query.limit);
    }
    auto read = it->second.read_of(query.user);
    snapshot.read = read.id;
    snapshot.unread = read.unread;
  }
  // A hub that already follows the room needs only the version: copying a
  // big room's names for every join made a storm of joins quadratic.
  if (query.members) {
    auto presence = presence_of(self->state, query.room);
    snapshot.members = std::move(presence.members);
    snapshot.presence_version = presence.version;
  } else if (auto it = self->state.presence.find(query.room); it != self->state.presence.end()) {
    snapshot.presence_version = it->second.version;
  }
  return snapshot;
}

/// (1.2) Moves a follower's read position in a thread; when it moved, their
/// sessions hear it. A thread they do not follow has none.
read_result mark_thread_read(bus_self self, const read_request& req) {
  auto it = self->state.rooms.find(req.room);
  auto update =
    it == self->state.rooms.end() ? std::nullopt : it->second.mark_thread_read(req.user, *req.root, req.id);
  if (!update)
    return {make_frame(encode_thread_read(req.room, *req.root, std::nullopt, 0)), false, std::nullopt};
  auto frame =
    make_frame(encode_thread_read(req.room, *req.root, update->position.id, update->position.unread));
  if (update->moved)
    publish(self, req.room, read_atom::value, req.room, read_notice{req.user, frame});
  return {frame, update->moved, std::nullopt};
}

/// Moves a user's read position; when it moved, their sessions hear it.
read_result mark_read(bus_self self, const read_request& req) {
  if (req.root)
    return mark_thread_read(self, req);
  auto it = self->state.rooms.find(req.room);
  auto update = it == self->state.rooms.end() ? std::nullopt : it->second.mark_read(req.user, req.id);
  if (!update)
    return {nullptr, false, refusal{error_code::not_found, "nothing to read in this room"}};
  auto frame = make_frame(encode_read(req.room, *update->position.id, update->position.unread));
  if (update->moved)
    publish(self, req.room, read_atom::value, req.room, read_notice{req.user, frame});
  return {frame, update->moved, std::nullopt};
}

admission admit(bus_self self, const admit_request& req) {
  auto& st = self->state;
  admission answer;
  if (is_dm_room(req.room)) {
    // The same answer whether the conversation exists or not: nothing is
    // learnt about someone else's.
    auto it = st.conversations.find(req.room);
    if (it == st.conversations.end() || (it->second.first != req.user && it->second.second != req.user)) {
      answer.refused = refusal{error_code::forbidden, "this direct conversation is not yours"};
      return answer;
    }
    answer.peer = it->second.first == req.user ? it->second.second : it->second.first;
  }
  if (auto it = st.rules.find(req.room); it != st.rules.end() && it->second.banned(req.user, now_ms()))
    answer.refused = refusal{error_code::forbidden, "you are banned from this room"};
  return answer;
}

store_result moderate(bus_self self, const moderation_request& req) {
  auto& st = self->state;
  auto now = now_ms();
  moderation_event event{req.room, {}, req.action, req.user, req.by, std::nullopt};
  if (req.seconds && req.action != moderation_action::kick)
    event.until = now + *req.seconds * 1000;
  if (req.action == moderation_action::unmute || req.action == moderation_action::unban ||
      req.action == moderation_action::kick)
    event.until.reset();
  auto& rules = st.rules[req.room];
  rules.apply(req.action, req.user, event.until);
  if (rules.empty())
    st.rules.erase(req.room);
  auto stored = st.room(req.room).append_moderation(event, now);
  st.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
  auto live = stored;
  live.received_ns = steady_now_ns();
  publish(self, req.room, deliver_atom::value, req.room, live);
  tell_followers(self, req.room, stored.id);
  if (req.action == moderation_action::kick || req.action == moderation_action::ban)
    publish(self, req.room, kick_atom::value, req.room,
            kick_notice{req.user, make_frame(encode_kicked(req.room, req.by))});
  return {stored, false, std::nullopt};
}

/// Every room with members or history, with its members and last message.
directory_listing list_rooms(bus_self self) {
  auto& st = self->state;
  std::map<std::string, directory_entry> rooms;
  for (const auto& [name, history] : st.rooms)
    if (auto last = history.last_message_ts())
      rooms[name] = directory_entry{name, 0, last};
  for (const auto& [name, presence] : st.presence) {
    auto& entry = rooms[name];
    entry.room = name;
    entry.members = presence.names.size();
  }
  directory_listing listing;
  for (auto& [name, entry] : rooms)
    listing.push_back(std::move(entry));
  return listing;
}

/// A notice for a user's sessions: to every hub (one here).
void tell_everywhere(bus_self self, const user_notice& notice) {
  std::unordered_set<hub_actor> hubs;
  for (const auto& [r, subscribed] : self->state.subscribers)
    hubs.insert(subscribed.begin(), subscribed.end());
  for (const auto& hub : hubs)
    self->send(hub, notice_atom::value, notice);
}

std::string open_dm(bus_self self, const dm_request& req) {
  auto& st = self->state;
  auto room = dm_room_name(req.user, req.peer);
  auto [a, b] = std::minmax(req.user, req.peer);
  if (!st.conversations.contains(room) &&
      st.user_conversations[req.user].size() >= max_conversations_per_user)
    return std::string{}; // over the bound: refused
  if (st.conversations.try_emplace(room, a, b).second) {
    st.user_conversations[req.user].emplace_back(room, req.peer);
    st.user_conversations[req.peer].emplace_back(room, req.user);
    // The other user hears of it on their sessions, whatever room they are in.
    tell_everywhere(self, user_notice{req.peer, make_frame(encode_conversation(room, req.user)), false});
  }
  return room;
}

/// Counts a name's sessions in a room; publishes presence when the name
/// appears or disappears.
void note_member(bus_self self, const std::string& room, const std::string& name, bool present) {
  auto& st = self->state;
  auto pit = st.presence.find(room);
  if (pit == st.presence.end()) {
    if (!present)
      return;
    pit = st.presence.emplace(room, room_presence{{}, st.presence_events}).first;
  }
  auto& p = pit->second;
  bool changed;
  if (present) {
    changed = p.names[name]++ == 0;
  } else {
    auto it = p.names.find(name);
    if (it == p.names.end())
      return;
    changed = --it->second == 0;
    if (changed)
      p.names.erase(it);
  }
  if (!changed)
    return;
  ++st.presence_events;
  presence_event event{++p.version, name, present,
                       make_frame(encode_presence(room, name, present, p.names.size())), p.names.size()};
  if (p.names.empty())
    st.presence.erase(pit);
  publish(self, room, presence_atom::value, room, event);
}

/// (1.2) Subscriptions and levels changed: written to the file within a
/// second, once for a burst of changes.
template <class T>
T saved_soon(bus_self self, T result) {
  auto& st = self->state;
  if (st.push.unsaved() && !st.push_save_due) {
    st.push_save_due = true;
    self->delayed_send(self, std::chrono::seconds{1}, pushsave_atom::value);
  }
  return result;
}

/// (1.2) Whether `user` has no session in `room` and has not read `id` there.
bool away_from(const embedded_bus_state& st, const std::string& room, const std::string& user,
               message_id id) {
  if (auto p = st.presence.find(room); p != st.presence.end() && p->second.names.contains(user))
    return false;
  auto h = st.rooms.find(room);
  if (h == st.rooms.end())
    return true;
  auto read = h->second.read_of(user).id;
  return !read || *read < id;
}

/// (1.2) Folds a stored message into the pushes it owes (push_decision.hpp).
caf::result<std::uint32_t, std::uint32_t> owe_pushes(bus_self self, const push_owed_message& m) {
  auto& st = self->state;
  auto id = message_id::parse(m.id);
  if (!id)
    return {0u, 0u};
  push_candidates candidates;
  candidates.at_all = st.push.users_at_all(m.room);
  if (auto c = st.conversations.find(m.room); c != st.conversations.end())
    candidates.parties = {c->second.first, c->second.second};
  std::uint32_t opened = 0;
  std::uint32_t folded = 0;
  for (const auto& user : candidates.of(m)) {
    if (!pushes_for(m, user, st.push.level(user, m.room)) || st.push.subscriptions(user).empty() ||
        !away_from(st, m.room, user, *id))
      continue;
    auto owed = st.pushes.owe(user, m, now_ms());
    opened += owed == push_queue::owed::opened;
    folded += owed == push_queue::owed::folded;
  }
  return {opened, folded};
}

bus_actor::behavior_type embedded_bus(bus_self self, bus_settings settings, stats_ptr stats) {
  self->state.settings = settings;
  self->state.stats = std::move(stats);
  if (!settings.push_file.empty())
    self->state.push = push_registry{settings.push_file};
  self->state.pushes = push_queue{settings.push_fold_ms};
  if (settings.push_key && self->state.push.any_subscription())
    settings.push_key->set_subscribed();
  self->set_error_handler([](caf::error&) {}); // an error message must not stop the bus
  return {
    [self](subscribe_atom, const std::string& room, const hub_actor& hub) {
      self->state.subscribers[room].insert(hub);
    },
    [self](unsubscribe_atom, const std::string& room, const hub_actor& hub) {
      auto it = self->state.subscribers.find(room);
      if (it == self->state.subscribers.end())
        return;
      it->second.erase(hub);
      if (it->second.empty())
        self->state.subscribers.erase(it);
    },
    [self](store_atom, const store_request& req) { return store(self, req); },
    [self](read_atom, const read_request& req) { return mark_read(self, req); },
    [self](threads_atom, const threads_query& query) {
      auto it = self->state.rooms.find(query.room);
      return it == self->state.rooms.end() ? followed_threads{}
                                           : it->second.threads_of(query.user, max_threads_listed);
    },
    [self](admit_atom, const admit_request& req) { return admit(self, req); },
    [self](moderate_atom, const moderation_request& req) { return moderate(self, req); },
    [self](dm_atom, const dm_request& req) { return open_dm(self, req); },
    [self](rooms_atom) { return list_rooms(self); },
    [self](disconnect_atom, const std::string& user) {
      tell_everywhere(self, user_notice{user, nullptr, true});
    },
    [self](dms_atom, const std::string& user) {
      auto it = self->state.user_conversations.find(user);
      return it == self->state.user_conversations.end() ? conversation_list{} : it->second;
    },
    [self](recent_atom, const recent_query& query) { return snapshot(self, query); },
    [self](member_atom, const std::string& room, const std::string& name, bool present) {
      note_member(self, room, name, present);
    },
    [self](who_atom, const std::string& room) { return presence_of(self->state, room); },
    [self](history_atom, const history_query& query) -> message_page {
      auto it = self->state.rooms.find(query.room);
      if (it == self->state.rooms.end())
        return {};
      if (query.thread)
        return it->second.thread_page(*query.thread, query.before, query.limit);
      return it->second.page(query.before, query.limit);
    },
    [self](typing_atom, const std::string& room, const std::string& user, const std::string& session) {
      publish(self, room, typing_atom::value, room, user, session);
    },
    [self](entries_atom, const entries_query& query) -> entry_batch {
      auto it = self->state.rooms.find(query.room);
      if (it == self->state.rooms.end())
        return {};
      return it->second.entries_after(query.after, query.limit);
    },
    [self](archived_atom, const archived_mark& m) {
      if (auto it = self->state.rooms.find(m.room); it != self->state.rooms.end())
        it->second.mark_archived(m.mark);
    },
    [self](quota_atom, const std::string& user, std::uint64_t bytes, std::uint64_t limit) {
      const auto& files = self->state.settings.files;
      return !files || files->reserve(user, bytes, limit);
    },
    [self](pvlookup_atom, const std::string& url) { return self->state.previews.look_up(url); },
    [self](pvkeep_atom, const std::string& url, std::optional<link_preview>& found) {
      self->state.previews.keep(url, std::move(found));
    },
    [self](pushsub_atom, const push_subscription& s) {
      return saved_soon(self, self->state.push.subscribe(s));
    },
    [self](pushunsub_atom, const std::string& user, const std::string& endpoint) {
      return saved_soon(self, self->state.push.unsubscribe(user, endpoint));
    },
    [self](notify_atom, const notify_setting& n) {
      if (!self->state.push.set_level(n))
        return false;
      tell_everywhere(self, user_notice{n.user, make_frame(encode_notify(n.room, n.level)), false});
      return saved_soon(self, true);
    },
    [self](pushsave_atom) {
      self->state.push_save_due = false;
      self->state.push.save();
    },
    [self](notifylv_atom, const std::string& user) { return self->state.push.levels(user); },
    [self](pushowe_atom, const push_owed_message& m) { return owe_pushes(self, m); },
    [self](pushdue_atom, std::uint32_t n, std::int64_t lease_ms) {
      return self->state.pushes.claim(n, lease_ms, now_ms());
    },
    [self](pushaway_atom, const std::string& room, const std::string& user, const std::string& id) {
      auto parsed = message_id::parse(id);
      return parsed && away_from(self->state, room, user, *parsed);
    },
    [self](pushsubs_atom, const std::string& user) { return self->state.push.subscriptions(user); },
    [self](pushsettle_atom, const push_settlement& s) { self->state.pushes.settle(s); },
    [self](hooker_atom, const webhook_actor& webhooks, std::uint64_t hold, bool private_rooms) {
      auto& st = self->state;
      st.webhooks = webhooks;
      st.hook_hold = hold;
      st.hook_private = private_rooms;
      for (auto& [name, history] : st.rooms)
        history.set_hooked(st.hooked(name), hold);
    },
    // One node, one sender: the lease is always its own.
    [self](hookclaim_atom, const hook_claim_request& claim) {
      auto& st = self->state;
      hook_lease lease;
      lease.granted = true;
      lease.cursor = st.room(claim.room).hook_cursor();
      if (auto it = st.hook_failing.find(claim.room); it != st.hook_failing.end())
        lease.failing_since_ms = it->second;
      return lease;
    },
    [self](hookmove_atom, const hook_progress& p) {
      auto& st = self->state;
      st.room(p.room).mark_hooked(p.cursor);
      if (p.failing_since_ms > 0)
        st.hook_failing[p.room] = p.failing_since_ms;
      else
        st.hook_failing.erase(p.room);
      return true;
    },
    [self](archiver_atom, const archive_actor& archive, std::uint64_t hold) {
      self->state.archive = archive;
      self->state.hold = hold;
      for (auto& [name, history] : self->state.rooms)
        history.set_archived(archive != nullptr, hold);
    },
  };
}

} // namespace

bus_actor spawn_embedded_bus(caf::actor_system& sys, bus_settings settings, stats_ptr stats) {
  return sys.spawn(embedded_bus, settings, std::move(stats));
}

} // namespace chatnode

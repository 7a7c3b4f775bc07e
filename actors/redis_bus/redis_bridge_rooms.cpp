// The Redis bridge's rooms: storing a message, handing each room's messages
// to its hub once and in stream order, and reading back from the stream what
// the channel did not bring (a link lost, a slot moved, or, when messages
// are published once replicated, one published ahead of an earlier one).

#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_bridge_state.hpp"
#include "actors/redis_bus/redis_entries.hpp"
#include "actors/contracts/chat_stats.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>

namespace chatnode::bridge {

namespace {

constexpr std::size_t catch_up_batch = 500;
constexpr std::size_t max_held = 10000;

/// Hands a message to the hub unless it already has it.
void deliver_new(bridge_actor* self, const std::string& room, room_link& r, stored_message msg) {
  if (r.last && msg.id <= *r.last)
    return;
  r.last = msg.id;
  tell_archive(self, room, msg.id, false);
  self->send(r.hub, deliver_atom::value, room, std::move(msg));
}

/// Whether a message can be handed on now: it follows the last one handed
/// on, or nothing says it does not.
bool follows(const room_link& r, const held_message& h) {
  return !h.previous || (r.last && *h.previous <= *r.last);
}

/// Keeps a live message until the stream has been read; past the limit it is
/// dropped and read from the stream later.
void hold(room_link& r, held_message h) {
  if (r.held.size() < max_held)
    r.held.push_back(std::move(h));
  else
    r.needs_catch_up = true;
}

void finish_catch_up(bridge_actor* self, const std::string& room);

/// A catch-up that could not run: it is tried again on the next heartbeat.
void catch_up_failed(bridge_actor* self, const std::string& room) {
  if (auto it = self->state.rooms.find(room); it != self->state.rooms.end()) {
    it->second.catching_up = false;
    it->second.needs_catch_up = true;
  }
}

} // namespace

const std::string* room_of_channel(const bridge_state& st, const std::string& channel) {
  auto it = st.channel_rooms.find(channel);
  return it == st.channel_rooms.end() ? nullptr : &it->second;
}

void lose_subscription(room_link& r) {
  r.subscribed = false;
  r.needs_catch_up = true;
}

/// Reads from the stream what came after the last message handed to the
/// hub; live messages wait meanwhile. Retried when it cannot run now.
void catch_up(bridge_actor* self, const std::string& room) {
  auto& st = self->state;
  auto it = st.rooms.find(room);
  if (it == st.rooms.end())
    return;
  auto& r = it->second;
  if (!st.command_up || !r.subscribed || r.catching_up || !r.needs_catch_up)
    return;
  r.catching_up = true;
  r.needs_catch_up = false;
  if (!r.last) {
    // First subscription: from now on the channel brings everything after
    // the newest readable entry (a join's snapshot brings the rest).
    run_script(self, scripts::catch_up, {st.keys.log(room), st.keys.watermark(room)},
               {std::string{}, std::string{}, "1", st.replicated_flag()}, [self, room](redis_reply reply) {
                 auto it = self->state.rooms.find(room);
                 if (it == self->state.rooms.end())
                   return;
                 if (reply.type != redis_reply::kind::array || reply.elements.empty())
                   return catch_up_failed(self, room);
                 it->second.last = message_id::parse(reply.elements[0].str).value_or(message_id{});
                 finish_catch_up(self, room);
               });
    return;
  }
  run_script(self, scripts::catch_up, {st.keys.log(room), st.keys.watermark(room)},
             {r.last->to_string(), r.catch_up_to ? r.catch_up_to->to_string() : std::string{},
              std::to_string(catch_up_batch), st.replicated_flag()},
             [self, room](redis_reply reply) {
               auto it = self->state.rooms.find(room);
               if (it == self->state.rooms.end())
                 return;
               if (reply.type != redis_reply::kind::array)
                 return catch_up_failed(self, room);
               auto& r = it->second;
               for (const auto& entry : reply.elements) {
                 self->state.stats->redis_replayed.fetch_add(1, std::memory_order_relaxed);
                 deliver_new(self, room, r, entry_event(room, entry));
               }
               if (reply.elements.size() == catch_up_batch) {
                 r.catching_up = false;
                 r.needs_catch_up = true;
                 catch_up(self, room); // more to read
                 return;
               }
               finish_catch_up(self, room);
             });
}

namespace {

void finish_catch_up(bridge_actor* self, const std::string& room) {
  auto it = self->state.rooms.find(room);
  if (it == self->state.rooms.end())
    return;
  auto& r = it->second;
  r.catching_up = false;
  if (r.catch_up_to && r.last && *r.catch_up_to <= *r.last)
    r.catch_up_to.reset();
  // Replicated messages may be published out of stream order: the held
  // ones are handed on in id order, and one whose predecessor is still
  // missing sends the catch-up on to it.
  auto held = std::move(r.held);
  r.held.clear();
  std::stable_sort(held.begin(), held.end(),
                   [](const held_message& a, const held_message& b) { return a.message.id < b.message.id; });
  for (auto& h : held) {
    if (r.last && h.message.id <= *r.last)
      continue;
    if (!r.needs_catch_up && follows(r, h)) {
      deliver_new(self, room, r, std::move(h.message));
      continue;
    }
    r.catch_up_to = std::max(r.catch_up_to.value_or(message_id{}), h.message.id);
    r.needs_catch_up = true;
    hold(r, std::move(h));
  }
  if (r.needs_catch_up) {
    catch_up(self, room);
    return;
  }
  auto waiting = std::move(r.waiting);
  r.waiting.clear();
  for (auto& w : waiting)
    answer_snapshot(self, room, std::move(w));
}

} // namespace

void on_message(bridge_actor* self, const std::string& room, room_link& r, char kind, std::string_view head,
                std::string frame) {
  held_message h;
  if (kind == 'm') { // m<id>: published when stored
    auto id = message_id::parse(head);
    if (!id)
      return;
    h.message = {*id, make_frame(std::move(frame)), steady_now_ns()};
  } else { // d<id> <previous>: published once replicated
    auto space = head.find(' ');
    auto id = message_id::parse(head.substr(0, space));
    auto previous =
      space == std::string_view::npos ? std::nullopt : message_id::parse(head.substr(space + 1));
    if (!id || !previous)
      return;
    h.message = {*id, make_frame(std::move(frame)), steady_now_ns()};
    h.previous = *previous;
  }
  if (r.catching_up || r.needs_catch_up || !r.subscribed) {
    hold(r, std::move(h));
    return;
  }
  if (r.last && h.message.id <= *r.last)
    return;
  if (follows(r, h)) {
    deliver_new(self, room, r, std::move(h.message));
    return;
  }
  // Published ahead of an earlier message this node has not seen: what lies
  // between has reached the replicas as well, and is read from the stream.
  r.catch_up_to = std::max(r.catch_up_to.value_or(message_id{}), h.message.id);
  r.needs_catch_up = true;
  hold(r, std::move(h));
  catch_up(self, room);
}

std::vector<std::string> snapshot_keys(const bridge_state& st, const std::string& room) {
  return {st.keys.log(room),   st.keys.members(room),   st.keys.presence_version(room),
          st.keys.nodes(room), st.keys.watermark(room), st.keys.states(room),
          st.keys.reads(room)};
}

void answer_snapshot(bridge_actor* self, const std::string& room, waiting_query w) {
  auto& st = self->state;
  std::vector<std::string> args{w.query.since ? w.query.since->to_string() : std::string{},
                                std::to_string(w.query.limit), st.replicated_flag(), w.query.user,
                                w.query.members ? "1" : "0"};
  run_script(self, scripts::snapshot, snapshot_keys(st, room), std::move(args),
             [self, room, w](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 7) {
                 w.promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               room_snapshot snap;
               const auto& entries = r.elements[0].elements;
               const auto& states = r.elements[4].elements;
               for (std::size_t i = 0; i < entries.size(); ++i) {
                 if (is_change(entries[i]))
                   snap.changes.push_back(entry_event(room, entries[i]));
                 else
                   snap.history.messages.push_back(
                     entry_now(room, entries[i], i < states.size() ? states[i].str : std::string{}));
               }
               if (!w.query.since) // newest first
                 std::reverse(snap.history.messages.begin(), snap.history.messages.end());
               snap.history.more =
                 r.elements[3].integer != 0 || (!w.query.since && older_archived(self->state, entries));
               snap.members = distinct_names(r.elements[1]);
               snap.presence_version = std::strtoull(r.elements[2].str.c_str(), nullptr, 10);
               snap.read = message_id::parse(r.elements[5].str);
               snap.unread = static_cast<std::size_t>(std::max<long long>(r.elements[6].integer, 0));
               w.promise.deliver(std::move(snap));
             });
}

void answer_history(bridge_actor* self, const history_query& query, caf::response_promise promise) {
  auto& st = self->state;
  run_script(self, scripts::history,
             {st.keys.log(query.room), st.keys.watermark(query.room), st.keys.states(query.room)},
             {query.before ? query.before->to_string() : std::string{}, std::to_string(query.limit + 1),
              st.replicated_flag()},
             [self, promise, query](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 2) {
                 promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               const auto& entries = r.elements[0].elements;
               const auto& states = r.elements[1].elements;
               message_page page;
               page.more = entries.size() > query.limit || older_archived(self->state, entries);
               for (std::size_t i = 0; i < std::min(query.limit, entries.size()); ++i)
                 page.messages.push_back(
                   entry_now(query.room, entries[i], i < states.size() ? states[i].str : std::string{}));
               std::reverse(page.messages.begin(), page.messages.end());
               promise.deliver(std::move(page));
             });
}

void on_read(bridge_actor* self, room_link& r, const std::string& room, std::string_view head,
             std::string user) {
  auto space = head.find(' ');
  auto id = message_id::parse(head.substr(0, space));
  if (!id || space == std::string_view::npos)
    return;
  auto unread = std::strtoull(std::string{head.substr(space + 1)}.c_str(), nullptr, 10);
  self->send(
    r.hub, read_atom::value, room,
    read_notice{std::move(user), make_frame(encode_read(room, *id, static_cast<std::size_t>(unread)))});
}

void mark_read(bridge_actor* self, const read_request& req, caf::response_promise promise) {
  auto& st = self->state;
  run_script(
    self, scripts::read,
    {st.keys.log(req.room), st.keys.reads(req.room), st.keys.channel(req.room), st.keys.watermark(req.room)},
    {req.user, req.id.to_string(), st.publish_command(), st.replicated_flag()},
    [promise, room = req.room](redis_reply r) mutable {
      if (r.type != redis_reply::kind::array || r.elements.empty()) {
        promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
        return;
      }
      if (r.elements[0].str == "none" || r.elements.size() < 3) {
        promise.deliver(
          read_result{nullptr, false, refusal{error_code::not_found, "nothing to read in this room"}});
        return;
      }
      auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
      auto unread = static_cast<std::size_t>(std::max<long long>(r.elements[2].integer, 0));
      promise.deliver(
        read_result{make_frame(encode_read(room, id, unread)), r.elements[0].str == "new", std::nullopt});
    });
}

/// Publishes a stored message that reached its replicas, then answers its
/// sender: the message is shown to nobody before it is safe.
void publish_replicated(bridge_actor* self, const std::string& room, store_result result,
                        const std::string& previous, caf::response_promise promise) {
  auto& st = self->state;
  // Read before the callback below takes `result` over.
  std::vector<std::string> args{result.message.id.to_string(), previous, *result.message.frame,
                                st.publish_command()};
  run_script(self, scripts::replicated, {st.keys.watermark(room), st.keys.channel(room)}, std::move(args),
             [promise, result = std::move(result)](redis_reply r) mutable {
               if (r.is_error()) {
                 promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               promise.deliver(std::move(result));
             });
}

namespace {

/// The arguments store.lua takes after the cid TTL and publish command, and
/// the frame around the id it assigns.
message_template store_template(const store_request& req) {
  if (!req.change)
    return encode_message_template(req.room, req.user, req.text, req.cid);
  message_change change;
  change.kind = *req.change;
  change.room = req.room;
  change.target = req.target;
  change.user = req.user;
  change.text = req.text;
  change.emoji = req.emoji;
  change.on = req.on;
  change.cid = req.cid;
  return encode_change_template(change);
}

/// A reaction already so: how it stands, for its sender.
store_result reaction_as_is(const store_request& req, const redis_reply& r) {
  message_change change;
  change.kind = change_kind::reaction;
  change.room = req.room;
  change.id = message_id::parse(r.elements[1].str).value_or(message_id{});
  change.target = req.target;
  change.user = req.user;
  change.emoji = req.emoji;
  change.on = req.on;
  change.count = static_cast<std::size_t>(std::max<long long>(r.elements[2].integer, 0));
  change.cid = req.cid;
  change.unchanged = true;
  return {{change.id, make_frame(encode_change(change))}, true, std::nullopt};
}

} // namespace

void store(bridge_actor* self, const store_request& req, caf::response_promise promise) {
  auto& st = self->state;
  auto t = store_template(req);
  std::string kind{req.change ? static_cast<char>(*req.change) : 'm'};
  run_script(
    self, scripts::store,
    {st.keys.log(req.room), st.keys.cids(req.room), st.keys.channel(req.room), st.keys.watermark(req.room),
     st.keys.states(req.room), st.keys.numbered(req.room), st.keys.mutes(req.room),
     st.keys.archived(req.room)},
    {kind, req.user, req.text, req.cid, std::to_string(st.settings.retention), t.head, t.middle, t.tail,
     std::to_string(std::chrono::milliseconds{st.settings.cid_ttl}.count()),
     st.replicated() ? std::string{} : st.publish_command(), req.target.to_string(), req.emoji,
     req.on ? "1" : "0", req.moderator ? "1" : "0", st.archive ? "1" : "0", std::to_string(st.archive_hold)},
    [self, promise, req](redis_reply r) mutable {
      if (r.type != redis_reply::kind::array || r.elements.size() < 3) {
        promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
        return;
      }
      const auto& outcome = r.elements[0].str;
      if (outcome == "refused") {
        auto code = r.elements[1].str == "forbidden" ? error_code::forbidden : error_code::not_found;
        promise.deliver(store_result{{}, false, refusal{code, r.elements[2].str}});
        return;
      }
      if (outcome == "same") {
        promise.deliver(reaction_as_is(req, r));
        return;
      }
      if (r.elements.size() < 4) {
        promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: a short reply to store"));
        return;
      }
      auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
      store_result result;
      if (outcome == "new") {
        self->state.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
        if (!req.change)
          note_activity(self, req.room, static_cast<std::int64_t>(id.ms));
        tell_archive(self, req.room, id, true);
        result = {{id, make_frame(r.elements[2].str)}, false, std::nullopt};
      } else {
        redis_reply entry;
        entry.type = redis_reply::kind::array;
        entry.elements = {r.elements[1], r.elements[2]};
        result = {entry_event(req.room, entry), true, std::nullopt};
      }
      if (!self->state.replicated()) {
        promise.deliver(std::move(result));
        return;
      }
      // Stored, and now on the replicas (a repeated cid's entry too: its
      // first store may not have got that far).
      publish_replicated(self, req.room, std::move(result), r.elements[3].str, std::move(promise));
    },
    st.settings.wait_replicas);
}

void expire_waiting(bridge_actor* self) {
  auto now = clock::now();
  for (auto& [room, r] : self->state.rooms) {
    auto late = std::stable_partition(r.waiting.begin(), r.waiting.end(), [&](const waiting_query& w) {
      return now - w.since < self->state.settings.query_timeout;
    });
    for (auto it = late; it != r.waiting.end(); ++it)
      it->promise.deliver(caf::make_error(caf::sec::request_timeout, "redis did not answer in time"));
    r.waiting.erase(late, r.waiting.end());
  }
}

} // namespace chatnode::bridge

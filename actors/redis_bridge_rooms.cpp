// The Redis bridge's rooms: storing a message, handing each room's messages
// to its hub once and in stream order, and reading back from the stream what
// the channel did not bring (a link lost, a slot moved, or, when messages
// are published once replicated, one published ahead of an earlier one).

#include "actors/protocol.hpp"
#include "actors/redis_bridge_state.hpp"
#include "actors/chat_stats.hpp"

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
                 deliver_new(self, room, r, to_stored(room, entry));
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

void answer_snapshot(bridge_actor* self, const std::string& room, waiting_query w) {
  auto& st = self->state;
  std::vector<std::string> args{w.query.since ? w.query.since->to_string() : std::string{},
                                std::to_string(w.query.limit), st.replicated_flag()};
  run_script(self, scripts::snapshot,
             {st.keys.log(room), st.keys.members(room), st.keys.presence_version(room), st.keys.nodes(room),
              st.keys.watermark(room)},
             std::move(args), [room, w](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array || r.elements.size() < 4) {
                 w.promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               room_snapshot snap;
               for (const auto& entry : r.elements[0].elements)
                 snap.history.messages.push_back(to_stored(room, entry));
               if (!w.query.since) // newest first from XREVRANGE
                 std::reverse(snap.history.messages.begin(), snap.history.messages.end());
               snap.history.more = r.elements[3].integer != 0;
               snap.members = distinct_names(r.elements[1]);
               snap.presence_version = std::strtoull(r.elements[2].str.c_str(), nullptr, 10);
               w.promise.deliver(std::move(snap));
             });
}

void answer_history(bridge_actor* self, const history_query& query, caf::response_promise promise) {
  auto& st = self->state;
  run_script(self, scripts::history, {st.keys.log(query.room), st.keys.watermark(query.room)},
             {query.before ? query.before->to_string() : std::string{}, std::to_string(query.limit + 1),
              st.replicated_flag()},
             [promise, query](redis_reply r) mutable {
               if (r.type != redis_reply::kind::array) {
                 promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
                 return;
               }
               message_page page;
               page.more = r.elements.size() > query.limit;
               for (std::size_t i = 0; i < std::min(query.limit, r.elements.size()); ++i)
                 page.messages.push_back(to_stored(query.room, r.elements[i]));
               std::reverse(page.messages.begin(), page.messages.end());
               promise.deliver(std::move(page));
             });
}

namespace {

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

} // namespace

void store(bridge_actor* self, const std::string& room, const std::string& user, const std::string& text,
           const std::string& cid, caf::response_promise promise) {
  auto& st = self->state;
  auto t = encode_message_template(room, user, text, cid);
  run_script(
    self, scripts::store,
    {st.keys.log(room), st.keys.cids(room), st.keys.channel(room), st.keys.watermark(room)},
    {user, text, cid, std::to_string(st.settings.retention), t.head, t.middle, t.tail,
     std::to_string(std::chrono::milliseconds{st.settings.cid_ttl}.count()),
     st.replicated() ? std::string{} : st.publish_command()},
    [self, promise, room](redis_reply r) mutable {
      if (r.type != redis_reply::kind::array || r.elements.size() < 4) {
        promise.deliver(caf::make_error(caf::sec::runtime_error, "redis: " + r.str));
        return;
      }
      auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
      store_result result;
      if (r.elements[0].str == "new") {
        self->state.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
        result = {{id, make_frame(r.elements[2].str)}, false};
      } else {
        redis_reply entry;
        entry.type = redis_reply::kind::array;
        entry.elements = {r.elements[1], r.elements[2]};
        result = {to_stored(room, entry), true};
      }
      if (!self->state.replicated()) {
        promise.deliver(std::move(result));
        return;
      }
      // Stored, and now on the replicas (a repeated cid's entry too: its
      // first store may not have got that far).
      publish_replicated(self, room, std::move(result), r.elements[3].str, std::move(promise));
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

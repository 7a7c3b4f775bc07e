// The Redis bridge's rooms: subscriptions, handing each room's messages to
// its hub once and in stream order, and catching up from the stream.

#include "actors/redis_bus/redis_bridge_rooms.hpp"

#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_entries.hpp"
#include "actors/contracts/chat_stats.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>

namespace chatnode::bridge {

namespace {

constexpr std::size_t catch_up_batch = 500;
constexpr std::size_t max_held = 10000;
constexpr std::chrono::milliseconds catch_up_retry_min{50};
constexpr std::chrono::milliseconds catch_up_retry_max{2000};

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

/// Holds a message published ahead of one this node has not seen, and reads
/// the stream at least up to it.
void hold_ahead(room_link& r, held_message h) {
  r.catch_up_to = std::max(r.catch_up_to.value_or(message_id{}), h.message.id);
  r.needs_catch_up = true;
  hold(r, std::move(h));
}

/// A message from the channel: "m<id>" when published as stored, "d<id>
/// <previous>" when published once replicated.
std::optional<held_message> parse_message(char kind, std::string_view head, std::string frame) {
  held_message h;
  auto space = kind == 'm' ? std::string_view::npos : head.find(' ');
  auto id = message_id::parse(head.substr(0, space));
  if (!id)
    return std::nullopt;
  if (kind != 'm') {
    auto previous =
      space == std::string_view::npos ? std::nullopt : message_id::parse(head.substr(space + 1));
    if (!previous)
      return std::nullopt;
    h.previous = *previous;
  }
  h.message = {*id, make_frame(std::move(frame)), steady_now_ns()};
  return h;
}

} // namespace

// -- subscriptions ----------------------------------------------------------------

void room_links::subscribe(const std::string& room, const hub_actor& hub) {
  auto [it, created] = rooms_.try_emplace(room);
  it->second.hub = hub;
  if (created) {
    channel_rooms_[core_.keys.channel(room)] = room;
    calls_.subscribe(core_.keys.channel(room));
  }
}

void room_links::unsubscribe(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    return;
  for (auto& w : it->second.waiting)
    w.promise.deliver(caf::make_error(caf::sec::runtime_error, "room closed"));
  rooms_.erase(it);
  channel_rooms_.erase(core_.keys.channel(room));
  calls_.unsubscribe(core_.keys.channel(room));
}

room_link* room_links::find(const std::string& room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

const std::string* room_links::room_of_channel(const std::string& channel) const {
  auto it = channel_rooms_.find(channel);
  return it == channel_rooms_.end() ? nullptr : &it->second;
}

room_link* room_links::link_of_channel(const std::string& channel) {
  const auto* room = room_of_channel(channel);
  return room == nullptr ? nullptr : &rooms_[*room];
}

void room_links::lose_subscription(room_link& r) {
  r.subscribed = false;
  r.needs_catch_up = true;
}

void room_links::lose_subscriptions() {
  for (auto& [room, r] : rooms_)
    lose_subscription(r);
}

void room_links::on_subscribed(const std::string& channel) {
  const auto* room = room_of_channel(channel);
  if (room == nullptr)
    return;
  auto& r = rooms_[*room];
  r.subscribed = true;
  r.needs_catch_up = true;
  catch_up(*room);
  // Presence published while the subscription was down is lost: the hub
  // compares what it has told its members with Redis again.
  r.resync_due = r.subscribed_before;
  r.subscribed_before = true;
  send_resyncs();
}

void room_links::resync(const std::string& room) {
  if (auto* r = find(room)) {
    r->resync_due = true;
    send_resyncs();
  }
}

void room_links::send_resyncs() {
  if (!calls_.command_up())
    return;
  for (auto& [room, r] : rooms_)
    if (std::exchange(r.resync_due, false))
      core_.self->send(r.hub, resync_atom::value, room);
}

// -- joins --------------------------------------------------------------------------

caf::result<room_snapshot> room_links::recent(recent_query& query) {
  auto promise = core_.self->make_response_promise<room_snapshot>();
  if (!calls_.command_up()) {
    // The promise owns the answer now: errors go through it too.
    promise.deliver(caf::make_error(caf::sec::runtime_error, "redis is not connected"));
    return promise;
  }
  auto it = rooms_.find(query.room);
  waiting_query w{std::move(query), promise, clock::now()};
  if (it == rooms_.end())
    messages_.answer_snapshot(w.query.room, w.query, std::move(w.promise));
  else if (!it->second.subscribed || it->second.catching_up || it->second.needs_catch_up)
    it->second.waiting.push_back(std::move(w)); // no gap: answered once subscribed
  else
    messages_.answer_snapshot(it->first, w.query, std::move(w.promise));
  return promise;
}

void room_links::fail_waiting() {
  // Replies still in flight fail on their own.
  for (auto& [room, r] : rooms_) {
    for (auto& w : r.waiting)
      w.promise.deliver(caf::make_error(caf::sec::runtime_error, "redis is not connected"));
    r.waiting.clear();
  }
}

void room_links::expire_waiting() {
  auto now = clock::now();
  for (auto& [room, r] : rooms_) {
    auto late = std::stable_partition(r.waiting.begin(), r.waiting.end(), [&](const waiting_query& w) {
      return now - w.since < core_.settings.query_timeout;
    });
    for (auto it = late; it != r.waiting.end(); ++it)
      it->promise.deliver(caf::make_error(caf::sec::request_timeout, "redis did not answer in time"));
    r.waiting.erase(late, r.waiting.end());
  }
}

// -- the channel ------------------------------------------------------------------

void room_links::on_published(const std::string& channel, std::string payload) {
  const auto* room = room_of_channel(channel);
  auto nl = payload.find('\n');
  if (room == nullptr || payload.size() < 2 || nl == std::string::npos)
    return;
  auto& r = rooms_[*room];
  std::string_view head{payload.data() + 1, nl - 1};
  switch (payload[0]) {
    case 'm': // m<id>\n<frame>
    case 'd': // d<id> <previous>\n<frame>
      on_message(*room, r, payload[0], head, payload.substr(nl + 1));
      break;
    case 't': // t<session>\n<user>
      core_.self->send(r.hub, typing_atom::value, *room, payload.substr(nl + 1), std::string{head});
      break;
    case 'e': // e<version>\n<join|leave>\n<count>\n<user>
      presence_.on_event(r.hub, *room, head, std::string_view{payload}.substr(nl + 1));
      break;
    case 'k': // k<user>\n<by>
      core_.self->send(
        r.hub, kick_atom::value, *room,
        kick_notice{std::string{head}, make_frame(encode_kicked(*room, payload.substr(nl + 1)))});
      break;
    case 'r': // r<id> <unread>\n<user>
      on_read(r, *room, head, payload.substr(nl + 1));
      break;
    case 'R': // R<root> <id> <unread>\n<user>: (1.2) a thread's read position
      on_thread_read(r, *room, head, payload.substr(nl + 1));
      break;
  }
}

void room_links::on_message(const std::string& room, room_link& r, char kind, std::string_view head,
                            std::string frame) {
  auto h = parse_message(kind, head, std::move(frame));
  if (!h)
    return;
  if (r.catching_up || r.needs_catch_up || !r.subscribed) {
    hold(r, std::move(*h));
    return;
  }
  if (r.last && h->message.id <= *r.last)
    return;
  if (follows(r, *h)) {
    deliver_new(room, r, std::move(h->message));
    return;
  }
  // Published ahead of an earlier message this node has not seen: what lies
  // between has reached the replicas as well, and is read from the stream.
  hold_ahead(r, std::move(*h));
  catch_up(room);
}

void room_links::on_read(room_link& r, const std::string& room, std::string_view head, std::string user) {
  auto space = head.find(' ');
  auto id = message_id::parse(head.substr(0, space));
  if (!id || space == std::string_view::npos)
    return;
  auto unread = std::strtoull(std::string{head.substr(space + 1)}.c_str(), nullptr, 10);
  core_.self->send(
    r.hub, read_atom::value, room,
    read_notice{std::move(user), make_frame(encode_read(room, *id, static_cast<std::size_t>(unread)))});
}

void room_links::on_thread_read(room_link& r, const std::string& room, std::string_view head,
                                std::string user) {
  auto first = head.find(' ');
  auto second = first == std::string_view::npos ? first : head.find(' ', first + 1);
  if (second == std::string_view::npos)
    return;
  auto root = message_id::parse(head.substr(0, first));
  auto id = message_id::parse(head.substr(first + 1, second - first - 1));
  if (!root || !id)
    return;
  auto unread = std::strtoull(std::string{head.substr(second + 1)}.c_str(), nullptr, 10);
  core_.self->send(r.hub, read_atom::value, room,
                   read_notice{std::move(user), make_frame(encode_thread_read(
                                                  room, *root, *id, static_cast<std::size_t>(unread)))});
}

void room_links::deliver_new(const std::string& room, room_link& r, stored_message msg) {
  if (r.last && msg.id <= *r.last)
    return;
  r.last = msg.id;
  feed_.tell(room, msg.id, false);
  core_.self->send(r.hub, deliver_atom::value, room, std::move(msg));
}

// -- catching up ----------------------------------------------------------------

void room_links::catch_up_all() {
  for (auto& [room, r] : rooms_)
    if (r.needs_catch_up)
      catch_up(room);
}

void room_links::catch_up(const std::string& room) {
  auto* link = find(room);
  if (link == nullptr)
    return;
  auto& r = *link;
  if (!calls_.command_up() || !r.subscribed || r.catching_up || !r.needs_catch_up)
    return;
  r.catching_up = true;
  r.needs_catch_up = false;
  if (!r.last) {
    first_catch_up(room);
    return;
  }
  calls_.send(
    redis_call::run_script(scripts::catch_up, {core_.keys.log(room), core_.keys.watermark(room)},
                           {r.last->to_string(), r.catch_up_to ? r.catch_up_to->to_string() : std::string{},
                            std::to_string(catch_up_batch), core_.replicated_flag()}),
    [this, room](redis_reply reply) { on_caught_up(room, reply); });
}

/// First subscription: from now on the channel brings everything after the
/// newest readable entry (a join's snapshot brings the rest).
void room_links::first_catch_up(const std::string& room) {
  calls_.send(redis_call::run_script(scripts::catch_up, {core_.keys.log(room), core_.keys.watermark(room)},
                                     {std::string{}, std::string{}, "1", core_.replicated_flag()}),
              [this, room](redis_reply reply) {
                auto* r = find(room);
                if (r == nullptr)
                  return;
                if (!is_array(reply, 1))
                  return catch_up_failed(room);
                r->last = message_id::parse(reply.elements[0].str).value_or(message_id{});
                finish_catch_up(room);
              });
}

void room_links::on_caught_up(const std::string& room, const redis_reply& reply) {
  auto* link = find(room);
  if (link == nullptr)
    return;
  if (!is_array(reply))
    return catch_up_failed(room);
  auto& r = *link;
  for (const auto& entry : reply.elements) {
    core_.stats->redis_replayed.fetch_add(1, std::memory_order_relaxed);
    deliver_new(room, r, entry_event(room, entry));
  }
  if (reply.elements.size() == catch_up_batch) {
    r.catching_up = false;
    r.needs_catch_up = true;
    catch_up(room); // more to read
    return;
  }
  finish_catch_up(room);
}

/// A catch-up that could not run is tried again soon: its live messages
/// (senders' own acknowledgements among them) are held until it succeeds,
/// and after a failover it fails when it comes before the command link to the
/// new master is up. Backing off, up to the heartbeat's pace, while it fails.
void room_links::catch_up_failed(const std::string& room) {
  auto* r = find(room);
  if (r == nullptr)
    return;
  r->catching_up = false;
  r->needs_catch_up = true;
  if (r->retry_set)
    return;
  r->retry_delay = std::clamp(r->retry_delay * 2, catch_up_retry_min, catch_up_retry_max);
  r->retry_set = true;
  calls_.after(r->retry_delay, [this, room] {
    if (auto* r = find(room)) {
      r->retry_set = false;
      catch_up(room);
    }
  });
}

void room_links::finish_catch_up(const std::string& room) {
  auto* link = find(room);
  if (link == nullptr)
    return;
  auto& r = *link;
  r.catching_up = false;
  r.retry_delay = std::chrono::milliseconds{0};
  if (r.catch_up_to && r.last && *r.catch_up_to <= *r.last)
    r.catch_up_to.reset();
  release_held(room, r);
  if (r.needs_catch_up) {
    catch_up(room);
    return;
  }
  auto waiting = std::move(r.waiting);
  r.waiting.clear();
  for (auto& w : waiting)
    messages_.answer_snapshot(room, w.query, std::move(w.promise));
}

void room_links::release_held(const std::string& room, room_link& r) {
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
    if (!r.needs_catch_up && follows(r, h))
      deliver_new(room, r, std::move(h.message));
    else
      hold_ahead(r, std::move(h));
  }
}

} // namespace chatnode::bridge

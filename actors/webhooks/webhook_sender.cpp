#include "actors/webhooks/webhook_sender.hpp"

#include "actors/contracts/signing.hpp"
#include "actors/webhooks/webhook_signature.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <optional>
#include <unordered_map>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::webhook_answer)

namespace chatnode {

namespace {

using posted_atom = caf::atom_constant<caf::atom("hookpost")>;

using clock = std::chrono::steady_clock;

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// A room with entries this node has not seen sent.
struct room_delivery {
  message_id newest;                ///< the newest entry known stored
  std::optional<message_id> cursor; ///< sent up to here, as the bus last said or this node sent
  bool pending = false;             ///< newest is past the cursor, as far as this node knows
  bool ours = false;                ///< this node holds the room's lease
  bool busy = false;                ///< a claim, a read or a post is under way
  entry_batch batch;                ///< read from the bus, sent up to `next`
  std::size_t next = 0;
  unsigned failures = 0;             ///< of batch[next], in a row
  std::int64_t failing_since_ms = 0; ///< batch[next] has failed since (wall ms), on any node
  clock::time_point due;             ///< when to claim, read or post again
  clock::time_point since;           ///< pending since
  clock::time_point renewed;         ///< the lease was last renewed
  clock::time_point last_active;
};

struct sender_state {
  webhook_settings settings;
  stats_ptr stats;
  webhook_bus bus;
  std::shared_ptr<webhook_poster> poster;
  std::string owner; ///< this sender's name in the rooms' leases
  std::unordered_map<std::string, room_delivery> rooms;
  std::size_t busy = 0;
  clock::time_point last_sweep;
  clock::time_point last_warning;

  static inline const char* name = "webhook_sender";
};

using sender_impl = webhook_actor::extend<caf::reacts_to<posted_atom, std::string, webhook_answer, double>,
                                          caf::reacts_to<tick_atom>>;
using sender_self = sender_impl::stateful_pointer<sender_state>;

constexpr std::chrono::milliseconds tick_every{100};

void warn(sender_self self, const std::string& event, const std::string& detail) {
  if (self->state.settings.warn)
    self->state.settings.warn(event, detail);
}

void start(sender_self self, const std::string& room);

/// The room's claim, read or post is over.
void finish(sender_self self, room_delivery& r) {
  r.busy = false;
  --self->state.busy;
}

/// The room is sent as far as it is known: its lease goes back to the bus.
void let_go(sender_self self, const std::string& room, room_delivery& r) {
  auto& st = self->state;
  r.pending = false;
  r.ours = false;
  r.batch.clear();
  r.next = 0;
  hook_progress p{room, st.owner, *r.cursor, 0, true, st.settings.lease.count()};
  self->request(st.bus, st.settings.bus_timeout, hookmove_atom::value, std::move(p))
    .then([](bool) {}, [](caf::error&) {});
}

/// Tells the bus how far the room is sent (and since when its next entry
/// fails), renewing the lease; a lease found another's stops this node.
void move(sender_self self, const std::string& room, room_delivery& r) {
  auto& st = self->state;
  r.renewed = clock::now();
  hook_progress p{room, st.owner, *r.cursor, r.failing_since_ms, false, st.settings.lease.count()};
  self->request(st.bus, st.settings.bus_timeout, hookmove_atom::value, std::move(p))
    .then(
      [self, room](bool still_ours) {
        if (still_ours)
          return;
        auto it = self->state.rooms.find(room);
        if (it == self->state.rooms.end() || !it->second.ours)
          return;
        auto& r = it->second;
        warn(self, "webhook_lease_lost", room + ": another node delivers the room now");
        r.ours = false;
        r.batch.clear();
        r.next = 0;
        r.due = clock::now() + self->state.settings.watch;
      },
      [](caf::error&) {}); // renewed at the next move or tick
}

/// The bus did not answer a claim or a read: the room is looked at again later.
void bus_failed(sender_self self, const std::string& room) {
  auto& r = self->state.rooms[room];
  finish(self, r);
  r.due = clock::now() + self->state.settings.watch;
}

void post_next(sender_self self, const std::string& room, room_delivery& r) {
  auto& st = self->state;
  auto post = make_webhook_post(st.settings.secret, room, r.batch[r.next], wall_ms() / 1000);
  auto me = caf::actor_cast<caf::actor>(self);
  auto started = clock::now();
  st.poster->post(std::move(post), [me, room, started](webhook_answer answer) {
    auto seconds = std::chrono::duration<double>(clock::now() - started).count();
    caf::anon_send(me, posted_atom::value, room, std::move(answer), seconds);
  });
}

void read_entries(sender_self self, const std::string& room, room_delivery& r) {
  auto& st = self->state;
  self
    ->request(st.bus, st.settings.bus_timeout, entries_atom::value,
              entries_query{room, *r.cursor, st.settings.batch})
    .then(
      [self, room](entry_batch& batch) {
        auto& r = self->state.rooms[room];
        finish(self, r);
        if (!r.ours)
          return;
        if (batch.empty()) {
          if (r.newest > *r.cursor) // stored, but not readable yet (its replicas do not have it)
            r.due = clock::now() + tick_every;
          else
            let_go(self, room, r);
          return;
        }
        r.batch = std::move(batch);
        r.next = 0;
        r.due = clock::now();
        start(self, room);
      },
      [self, room](caf::error&) { bus_failed(self, room); });
}

void claim(sender_self self, const std::string& room) {
  auto& st = self->state;
  self
    ->request(st.bus, st.settings.bus_timeout, hookclaim_atom::value,
              hook_claim_request{room, st.owner, st.settings.lease.count()})
    .then(
      [self, room](const hook_lease& lease) {
        auto& st = self->state;
        auto& r = st.rooms[room];
        finish(self, r);
        r.cursor = lease.cursor;
        if (!lease.granted) {
          // Another node delivers the room: watch it send what this one knows of.
          if (*r.cursor >= r.newest)
            r.pending = false;
          else
            r.due = clock::now() + st.settings.watch;
          return;
        }
        r.ours = true;
        r.renewed = clock::now();
        r.failing_since_ms = lease.failing_since_ms;
        r.failures = 0;
        if (lease.took_over) {
          st.stats->webhook_takeovers.fetch_add(1, std::memory_order_relaxed);
          warn(self, "webhook_takeover", room + ": the node that delivered the room stopped renewing it");
        }
        r.due = clock::now();
        start(self, room);
      },
      [self, room](caf::error&) { bus_failed(self, room); });
}

/// Starts the room's next step when it is due and a slot is free.
void start(sender_self self, const std::string& room) {
  auto& st = self->state;
  auto& r = st.rooms[room];
  if (r.busy || !r.pending || r.due > clock::now() || st.busy >= st.settings.rooms_at_once)
    return;
  r.busy = true;
  ++st.busy;
  if (!r.ours)
    claim(self, room);
  else if (r.next < r.batch.size())
    post_next(self, room, r);
  else
    read_entries(self, room, r);
}

/// The entry at batch[next] is done with: taken, or dropped.
void advance(sender_self self, const std::string& room, room_delivery& r) {
  r.cursor = r.batch[r.next].id;
  ++r.next;
  r.failures = 0;
  r.failing_since_ms = 0;
  move(self, room, r);
  r.due = clock::now();
}

void posted(sender_self self, const std::string& room, const webhook_answer& answer, double seconds) {
  auto& st = self->state;
  auto it = st.rooms.find(room);
  if (it == st.rooms.end())
    return;
  auto& r = it->second;
  finish(self, r);
  st.stats->webhook_post_seconds.observe(seconds);
  if (!r.ours || r.next >= r.batch.size())
    return; // the lease was lost meanwhile: the next holder posts it again
  if (answer.status >= 200 && answer.status < 300) {
    st.stats->webhook_delivered.fetch_add(1, std::memory_order_relaxed);
    advance(self, room, r);
    start(self, room);
    return;
  }
  st.stats->webhook_failed.fetch_add(1, std::memory_order_relaxed);
  auto now_ms = wall_ms();
  if (r.failing_since_ms == 0)
    r.failing_since_ms = now_ms;
  ++r.failures;
  auto why = answer.status ? "status " + std::to_string(answer.status) : answer.error;
  const auto& entry = r.batch[r.next];
  if (now_ms - r.failing_since_ms >= st.settings.retry_for.count()) {
    st.stats->webhook_dropped.fetch_add(1, std::memory_order_relaxed);
    warn(self, "webhook_dropped",
         webhook_delivery_id(room, entry.id) + ": not taken for " +
           std::to_string(st.settings.retry_for.count() / 1000) + " s (last: " + why + "), dropped");
    advance(self, room, r);
    start(self, room);
    return;
  }
  if (r.failures == 1)
    warn(self, "webhook_failed",
         webhook_delivery_id(room, entry.id) + ": " + why + "; tried again with backoff");
  r.due = clock::now() + webhook_retry_delay(r.failures, st.settings.longest_wait);
  move(self, room, r); // keeps when it began failing, for whichever node tries next
}

void note(sender_self self, const archive_notice& notice) {
  auto& st = self->state;
  auto now = clock::now();
  auto& r = st.rooms[notice.room];
  r.last_active = now;
  if (notice.newest > r.newest)
    r.newest = notice.newest;
  if (r.cursor && *r.cursor >= r.newest)
    return;
  if (!r.pending) {
    r.pending = true;
    r.since = now;
    r.due = notice.stored_here || r.ours ? now : now + st.settings.watch;
  } else if (notice.stored_here && !r.ours && !r.busy && r.failures == 0) {
    r.due = std::min(r.due, now);
  }
  start(self, notice.room);
}

/// Backlog figures and the warning, idle rooms forgotten, about once a second.
void sweep(sender_self self) {
  auto& st = self->state;
  auto now = clock::now();
  if (now - st.last_sweep < std::chrono::seconds{1})
    return;
  st.last_sweep = now;
  std::int64_t pending = 0;
  auto oldest_ms = wall_ms();
  auto now_ms = oldest_ms;
  for (auto it = st.rooms.begin(); it != st.rooms.end();) {
    auto& r = it->second;
    if (r.pending) {
      ++pending;
      // The oldest entry not sent was stored at its id's ms.
      auto waiting =
        r.next < r.batch.size()
          ? static_cast<std::int64_t>(r.batch[r.next].id.ms)
          : now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now - r.since).count();
      oldest_ms = std::min(oldest_ms, waiting);
    }
    if (!r.pending && !r.busy && !r.ours && now - r.last_active > std::chrono::minutes{5})
      it = st.rooms.erase(it);
    else
      ++it;
  }
  auto waited = (now_ms - oldest_ms) / 1000;
  st.stats->webhook_rooms_pending.store(pending, std::memory_order_relaxed);
  st.stats->webhook_backlog_seconds.store(waited, std::memory_order_relaxed);
  if (pending > 0 && waited >= 30 && now - st.last_warning >= std::chrono::seconds{30}) {
    st.last_warning = now;
    warn(self, "webhook_backlog",
         std::to_string(pending) + " rooms have entries not sent, the oldest for " + std::to_string(waited) +
           " s; the bus holds up to " + std::to_string(st.settings.hold) +
           " entries of a room for them, so a room that gets more before the receiver catches up loses its "
           "oldest to it");
  }
}

void tick(sender_self self) {
  auto& st = self->state;
  sweep(self);
  auto now = clock::now();
  std::vector<std::string> due;
  for (auto& [room, r] : st.rooms) {
    if (r.ours && now - r.renewed >= st.settings.lease / 3)
      move(self, room, r);
    if (r.pending && !r.busy && r.due <= now)
      due.push_back(room);
  }
  for (const auto& room : due)
    start(self, room);
}

sender_impl::behavior_type webhook_sender(sender_self self, webhook_bus bus,
                                          std::shared_ptr<webhook_poster> poster, webhook_settings settings,
                                          stats_ptr stats) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.poster = std::move(poster);
  st.settings = std::move(settings);
  st.stats = std::move(stats);
  st.owner = hex(random_bytes(12));
  self->set_error_handler([](caf::error&) {});
  self->delayed_send(self, tick_every, tick_atom::value);
  return {
    [self](webhook_atom, const archive_notice& notice) { note(self, notice); },
    [self](posted_atom, const std::string& room, const webhook_answer& answer, double seconds) {
      posted(self, room, answer, seconds);
    },
    [self](tick_atom) {
      tick(self);
      self->delayed_send(self, tick_every, tick_atom::value);
    },
  };
}

} // namespace

webhook_actor spawn_webhook_sender(caf::actor_system& sys, webhook_bus bus,
                                   std::shared_ptr<webhook_poster> poster, webhook_settings settings,
                                   stats_ptr stats) {
  return caf::actor_cast<webhook_actor>(
    sys.spawn(webhook_sender, std::move(bus), std::move(poster), std::move(settings), std::move(stats)));
}

} // namespace chatnode

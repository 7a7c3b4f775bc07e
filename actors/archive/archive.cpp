#include "actors/archive/archive.hpp"

#include "actors/archive/archive_sql.hpp"
#include "actors/wire/protocol.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <functional>
#include <map>
#include <limits>
#include <optional>
#include <unordered_map>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatnode::pg_result)

namespace chatnode {

namespace {

using link_atom = caf::atom_constant<caf::atom("link")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

using clock = std::chrono::steady_clock;

/// A room with entries this node has not seen archived.
struct room_work {
  message_id newest;              ///< the newest entry known stored
  std::optional<message_id> mark; ///< archived up to here, as last read or written
  bool pending = false;           ///< newest is past the mark
  bool ours = false;              ///< stored here, or taken over: write at once
  message_id seen;                ///< watching: what the storing node should have archived by `due`
  clock::time_point due;
  clock::time_point since; ///< pending since
  clock::time_point last_active;
  bool busy = false; ///< a batch is under way
};

struct archive_state {
  archive_settings settings;
  stats_ptr stats;
  archive_bus bus;
  std::shared_ptr<pg_port> writer;
  std::shared_ptr<pg_port> reader;
  bool writer_up = false;
  bool reader_up = false;
  bool schema_ready = false;
  bool schema_running = false;
  std::unordered_map<std::string, room_work> rooms;
  std::size_t batches_running = 0;
  std::uint64_t next_token = 1;
  std::unordered_map<std::uint64_t, pg_callback> calls;
  clock::time_point last_sweep;
  clock::time_point last_warning;
  std::optional<clock::time_point> last_expiry; ///< none: expire once the schema is ready
  clock::time_point last_schema_try;

  static inline const char* name = "archive";
};

using archive_impl =
  archive_actor::extend<caf::reacts_to<link_atom, pg_link, bool, std::string>,
                        caf::reacts_to<done_atom, std::uint64_t, pg_result>, caf::reacts_to<tick_atom>>;
using archive_self = archive_impl::stateful_pointer<archive_state>;

constexpr std::size_t max_batches_running = 4;

/// Runs a statement on a connection; `k` runs on the actor with the result.
void run(archive_self self, const std::shared_ptr<pg_port>& link, std::string sql, pg_params params,
         pg_callback k) {
  auto token = self->state.next_token++;
  self->state.calls.emplace(token, std::move(k));
  auto me = caf::actor_cast<caf::actor>(self);
  link->query(std::move(sql), std::move(params),
              [me, token](pg_result r) { caf::anon_send(me, done_atom::value, token, std::move(r)); });
}

std::string text_of(const std::optional<std::string>& v) {
  return v ? *v : std::string{};
}

std::int64_t number_of(const std::optional<std::string>& v) {
  std::int64_t n = 0;
  if (v)
    std::from_chars(v->data(), v->data() + v->size(), n);
  return n;
}

void warn(archive_self self, const std::string& event, const std::string& detail) {
  if (self->state.settings.warn)
    self->state.settings.warn(event, detail);
}

/// (1.2) Removes from the store the files a JSON array of ids names: those
/// of messages the archive no longer keeps.
void remove_files(archive_self self, const std::optional<std::string>& ids_json) {
  const auto& files = self->state.settings.files;
  if (!files || !ids_json)
    return;
  auto ids = nlohmann::json::parse(*ids_json, nullptr, false);
  if (!ids.is_array())
    return;
  std::vector<std::string> gone;
  for (const auto& id : ids)
    if (id.is_string())
      gone.push_back(id.get<std::string>());
  if (!gone.empty())
    files->remove(gone);
}

void set_up(archive_self self) {
  auto& st = self->state;
  st.stats->archive_up.store(st.writer_up && st.reader_up && st.schema_ready, std::memory_order_relaxed);
}

void run_schema(archive_self self) {
  auto& st = self->state;
  auto now = clock::now();
  if (st.schema_running || st.schema_ready || !st.writer_up ||
      now - st.last_schema_try < std::chrono::seconds{5})
    return;
  st.schema_running = true;
  st.last_schema_try = now;
  run(self, st.writer, archive_sql::schema, {}, [self](pg_result r) {
    auto& st = self->state;
    st.schema_running = false;
    if (!r.ok() || r.rows.empty() || r.rows.back().empty()) {
      warn(self, "archive_schema_failed", r.ok() ? "no version" : r.error);
      return; // tried again at a later tick
    }
    auto version = number_of(r.rows.back().front());
    if (version > archive_sql::version) {
      warn(self, "archive_schema_newer",
           "the database's schema is version " + std::to_string(version) + ", this node knows " +
             std::to_string(archive_sql::version) + ": nothing is archived until the node is upgraded");
      return;
    }
    st.schema_ready = true;
    set_up(self);
    auto now = clock::now();
    for (auto& [name, w] : st.rooms)
      if (w.pending && w.ours)
        w.due = now;
  });
}

// -- writing -----------------------------------------------------------------------

void start_batch(archive_self self, const std::string& room);

/// A batch is over: what the room needs next.
void batch_done(archive_self self, const std::string& room, bool failed, bool full) {
  auto& st = self->state;
  --st.batches_running;
  auto it = st.rooms.find(room);
  if (it == st.rooms.end())
    return;
  auto& w = it->second;
  w.busy = false;
  auto now = clock::now();
  if (failed) {
    st.stats->archive_failures.fetch_add(1, std::memory_order_relaxed);
    w.due = now + st.settings.retry;
    return;
  }
  if (w.mark && *w.mark >= w.newest) {
    w.pending = false;
    w.ours = false;
    return;
  }
  // More than one batch waits, or the bus does not show the newest yet
  // (it reaches readers once its replicas have it).
  w.due = full ? now : now + st.settings.tick;
}

void write_batch(archive_self self, const std::string& room, entry_batch batch) {
  auto& st = self->state;
  bool full = batch.size() >= st.settings.batch;
  auto started = clock::now();
  run(
    self, st.writer, "SELECT mark, messages, missed, written FROM chatnode_archive($1, $2::jsonb)",
    {room, batch_json(batch)}, [self, room, full, started](pg_result r) {
      auto& st = self->state;
      if (!r.ok() || r.rows.empty() || r.rows[0].size() < 4) {
        warn(self, "archive_write_failed", room + ": " + (r.ok() ? "no answer" : r.error));
        batch_done(self, room, true, false);
        return;
      }
      const auto& row = r.rows[0];
      auto missed = number_of(row[2]);
      auto written = number_of(row[3]);
      st.stats->archive_entries.fetch_add(static_cast<std::uint64_t>(written), std::memory_order_relaxed);
      st.stats->archive_batches.fetch_add(1, std::memory_order_relaxed);
      st.stats->archive_write_seconds.observe(std::chrono::duration<double>(clock::now() - started).count());
      if (missed > 0) {
        st.stats->archive_missed.fetch_add(static_cast<std::uint64_t>(missed), std::memory_order_relaxed);
        warn(self, "archive_missed",
             room + ": " + std::to_string(missed) +
               " messages left the bus's retention before they were archived (the archive was away, or "
               "came after them)");
      }
      auto mark = message_id::parse(text_of(row[0]));
      if (mark)
        self->send(st.bus, archived_atom::value, archived_mark{room, *mark});
      if (auto it = st.rooms.find(room); it != st.rooms.end())
        if (mark && (!it->second.mark || *mark > *it->second.mark))
          it->second.mark = mark;
      batch_done(self, room, false, full);
    });
}

void read_entries(archive_self self, const std::string& room, message_id after) {
  auto& st = self->state;
  self
    ->request(st.bus, st.settings.bus_timeout, entries_atom::value,
              entries_query{room, after, st.settings.batch})
    .then(
      [self, room](entry_batch& batch) {
        if (batch.empty()) {
          batch_done(self, room, false, false);
          return;
        }
        write_batch(self, room, std::move(batch));
      },
      [self, room](caf::error&) { batch_done(self, room, true, false); });
}

/// The mark as the database has it now (another node may have moved it).
void read_mark(archive_self self, const std::string& room, std::function<void()> then) {
  run(self, self->state.writer, "SELECT mark_ms, mark_seq FROM archive_rooms WHERE room = $1", {room},
      [self, room, then = std::move(then)](pg_result r) {
        auto& st = self->state;
        auto it = st.rooms.find(room);
        if (!r.ok() || it == st.rooms.end()) {
          if (!r.ok())
            warn(self, "archive_read_failed", room + ": " + r.error);
          batch_done(self, room, true, false);
          return;
        }
        message_id mark;
        if (!r.rows.empty() && r.rows[0].size() >= 2)
          mark = {static_cast<std::uint64_t>(number_of(r.rows[0][0])),
                  static_cast<std::uint64_t>(number_of(r.rows[0][1]))};
        it->second.mark = mark;
        then();
      });
}

void start_batch(archive_self self, const std::string& room) {
  auto& st = self->state;
  auto& w = st.rooms[room];
  w.busy = true;
  ++st.batches_running;
  if (!w.ours) {
    // Watching a room another node stores in: archive it only if that node
    // has not archived what this one saw `takeover` ago.
    read_mark(self, room, [self, room] {
      auto& st = self->state;
      auto& w = st.rooms[room];
      if (*w.mark >= w.seen) {
        --st.batches_running;
        w.busy = false;
        if (*w.mark >= w.newest) {
          w.pending = false;
        } else {
          w.seen = w.newest;
          w.due = clock::now() + st.settings.takeover;
        }
        return;
      }
      w.ours = true;
      warn(self, "archive_takeover", room + ": entries stored by another node were not archived in time");
      read_entries(self, room, *w.mark);
    });
    return;
  }
  if (!w.mark) {
    read_mark(self, room, [self, room] { read_entries(self, room, *self->state.rooms[room].mark); });
    return;
  }
  read_entries(self, room, *w.mark);
}

void note(archive_self self, const archive_notice& notice) {
  auto& st = self->state;
  auto now = clock::now();
  auto& w = st.rooms[notice.room];
  w.last_active = now;
  if (notice.newest > w.newest)
    w.newest = notice.newest;
  if (w.mark && *w.mark >= w.newest)
    return;
  if (!w.pending) {
    w.pending = true;
    w.since = now;
    w.ours = notice.stored_here;
    w.seen = w.newest;
    w.due = notice.stored_here ? now : now + st.settings.takeover;
  } else if (notice.stored_here && !w.ours) {
    w.ours = true;
    w.due = now;
  }
}

/// Backlog figures, the warning while the database is away, idle rooms
/// forgotten, and retention applied, about once a second.
void sweep(archive_self self) {
  auto& st = self->state;
  auto now = clock::now();
  if (now - st.last_sweep < std::chrono::seconds{1})
    return;
  st.last_sweep = now;
  std::int64_t pending = 0;
  auto oldest = now;
  for (auto it = st.rooms.begin(); it != st.rooms.end();) {
    auto& w = it->second;
    if (w.pending) {
      ++pending;
      oldest = std::min(oldest, w.since);
    }
    if (!w.pending && !w.busy && now - w.last_active > std::chrono::minutes{5})
      it = st.rooms.erase(it);
    else
      ++it;
  }
  auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - oldest).count();
  st.stats->archive_rooms_pending.store(pending, std::memory_order_relaxed);
  st.stats->archive_backlog_seconds.store(waited, std::memory_order_relaxed);
  if (pending > 0 && waited >= 30 && now - st.last_warning >= std::chrono::seconds{30}) {
    st.last_warning = now;
    warn(self, "archive_backlog",
         std::to_string(pending) + " rooms have entries not archived, the oldest for " +
           std::to_string(waited) + " s; the bus holds up to " + std::to_string(st.settings.hold) +
           " entries of a room for it, so a room that gets more before the archive catches up loses its "
           "oldest to it");
  }
  if (st.schema_ready && st.settings.retention_days > 0 &&
      (!st.last_expiry || now - *st.last_expiry >= std::chrono::minutes{10})) {
    st.last_expiry = now;
    auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    run(self, st.writer, "SELECT gone, files FROM chatnode_expire($1::integer, $2::bigint)",
        {std::to_string(st.settings.retention_days), std::to_string(wall_ms)}, [self](pg_result r) {
          if (!r.ok()) {
            warn(self, "archive_expiry_failed", r.error);
            return;
          }
          if (!r.rows.empty() && r.rows[0].size() > 1)
            remove_files(self, r.rows[0][1]);
        });
  }
}

void tick(archive_self self) {
  auto& st = self->state;
  sweep(self);
  if (!st.writer_up)
    return;
  if (!st.schema_ready) {
    run_schema(self);
    return;
  }
  auto now = clock::now();
  for (auto& [room, w] : st.rooms) {
    if (st.batches_running >= max_batches_running)
      break;
    if (w.pending && !w.busy && w.due <= now)
      start_batch(self, room);
  }
}

// -- reading -----------------------------------------------------------------------

constexpr const char* max_ms = "9223372036854775807";

void answer_rows(archive_self self, std::string sql, pg_params params, std::string room, std::size_t limit,
                 bool oldest_first, caf::response_promise promise) {
  auto& st = self->state;
  if (!st.reader_up || !st.schema_ready) {
    promise.deliver(caf::make_error(caf::sec::runtime_error, "the archive is not connected"));
    return;
  }
  run(self, st.reader, std::move(sql), std::move(params),
      [room = std::move(room), limit, oldest_first, promise](pg_result r) mutable {
        if (!r.ok()) {
          promise.deliver(caf::make_error(caf::sec::runtime_error, "archive: " + r.error));
          return;
        }
        message_page page;
        page.messages = messages_of_rows(room, r);
        page.more = page.messages.size() > limit;
        if (page.more)
          page.messages.resize(limit);
        if (oldest_first)
          std::reverse(page.messages.begin(), page.messages.end());
        promise.deliver(std::move(page));
      });
}

// -- erasing a user ------------------------------------------------------------------

/// Deletes the user's messages the bus still retains in `rooms` (as a
/// moderator would, so every client sees them go), then their rows in the
/// archive.
void erase_retained(archive_self self, std::string user, std::vector<std::string> rooms,
                    caf::typed_response_promise<erase_result> promise, erase_result done) {
  auto& st = self->state;
  if (rooms.empty()) {
    run(self, st.writer, "SELECT gone, files FROM chatnode_erase_user($1)", {user},
        [self, promise, done](pg_result r) mutable {
          if (!r.ok() || r.rows.empty() || r.rows[0].size() < 2) {
            promise.deliver(caf::make_error(caf::sec::runtime_error, "archive: " + r.error));
            return;
          }
          done.archived = static_cast<std::uint64_t>(number_of(r.rows[0][0]));
          remove_files(self, r.rows[0][1]);
          promise.deliver(done);
        });
    return;
  }
  auto room = std::move(rooms.back());
  rooms.pop_back();
  self
    ->request(st.bus, st.settings.bus_timeout, entries_atom::value, entries_query{room, {}, st.settings.hold})
    .then(
      [self, user, rooms, promise, done, room](const entry_batch& batch) mutable {
        // Their messages are deleted as a moderator would; their reactions
        // that still stand are taken back in their name.
        std::vector<store_request> changes;
        std::map<std::pair<std::string, std::string>, bool> reactions; // (target, emoji) -> on
        for (const auto& e : batch) {
          auto event = nlohmann::json::parse(*e.frame, nullptr, false);
          if (!event.is_object() || event.value("user", "") != user)
            continue;
          auto type = event.value("type", "");
          if (type == "message") {
            store_request req;
            req.room = room;
            req.user = "api";
            req.change = change_kind::remove;
            req.target = e.id;
            req.moderator = true;
            changes.push_back(std::move(req));
          } else if (type == "reaction") {
            reactions[{event.value("target", ""), event.value("emoji", "")}] = event.value("on", false);
          }
        }
        for (const auto& [key, on] : reactions) {
          auto target = message_id::parse(key.first);
          if (!on || !target)
            continue;
          store_request req;
          req.room = room;
          req.user = user;
          req.change = change_kind::reaction;
          req.target = *target;
          req.emoji = key.second;
          req.on = false;
          changes.push_back(std::move(req));
        }
        if (changes.empty()) {
          erase_retained(self, user, std::move(rooms), promise, done);
          return;
        }
        // One count shared by every answer: the next room once all came.
        struct progress {
          std::size_t left;
          erase_result done;
        };
        auto shared = std::make_shared<progress>(progress{changes.size(), done});
        for (auto& req : changes) {
          bool counts = req.change == change_kind::remove;
          auto next = [self, user, rooms, promise, shared, counts](bool deleted) mutable {
            if (deleted && counts)
              ++shared->done.retained;
            if (--shared->left == 0)
              erase_retained(self, user, std::move(rooms), promise, shared->done);
          };
          self->request(self->state.bus, self->state.settings.bus_timeout, store_atom::value, std::move(req))
            .then([next](const store_result& r) mutable { next(!r.refused && !r.duplicate); },
                  [next](caf::error&) mutable { next(false); });
        }
      },
      [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

void erase_user(archive_self self, const std::string& user,
                caf::typed_response_promise<erase_result> promise) {
  auto& st = self->state;
  if (!st.writer_up || !st.schema_ready) {
    promise.deliver(caf::make_error(caf::sec::runtime_error, "the archive is not connected"));
    return;
  }
  // Every room they wrote in is archived (within a tick of each message).
  run(self, st.writer, "SELECT DISTINCT room FROM archive_events WHERE author = $1", {user},
      [self, user, promise](pg_result r) mutable {
        if (!r.ok()) {
          promise.deliver(caf::make_error(caf::sec::runtime_error, "archive: " + r.error));
          return;
        }
        std::vector<std::string> rooms;
        for (const auto& row : r.rows)
          rooms.push_back(text_of(row[0]));
        erase_result done;
        done.rooms = rooms.size();
        erase_retained(self, user, std::move(rooms), promise, done);
      });
}

pg_params bounded(const std::string& room, std::optional<message_id> before) {
  return {room, before ? std::to_string(before->ms) : std::string{max_ms},
          before ? std::to_string(before->seq) : std::string{"0"}};
}

/// A page of archived messages older than `before`, oldest first: of the
/// room, or of a thread (`q.thread`).
caf::result<message_page> answer_history(archive_self self, const history_query& q) {
  auto promise = self->make_response_promise();
  auto params = bounded(q.room, q.before);
  params.push_back(std::to_string(q.limit + 1));
  if (q.thread) {
    params.insert(params.begin() + 1, {std::to_string(q.thread->ms), std::to_string(q.thread->seq)});
    answer_rows(
      self, "SELECT * FROM chatnode_thread($1, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::integer)",
      std::move(params), q.room, q.limit, true, promise);
  } else {
    answer_rows(self, "SELECT * FROM chatnode_page($1, $2::bigint, $3::bigint, $4::integer)",
                std::move(params), q.room, q.limit, true, promise);
  }
  return caf::delegated<message_page>{};
}

/// Archived messages matching words, newest first.
caf::result<message_page> answer_search(archive_self self, const search_query& q) {
  auto promise = self->make_response_promise();
  auto params = bounded(q.room, q.before);
  params.insert(params.begin() + 1, q.words);
  params.push_back(std::to_string(q.limit + 1));
  answer_rows(self, "SELECT * FROM chatnode_search($1, $2, $3::bigint, $4::bigint, $5::integer)",
              std::move(params), q.room, q.limit, false, promise);
  return caf::delegated<message_page>{};
}

/// A room's own retention (0 days: the node's default).
caf::result<bool> set_retention(archive_self self, const std::string& room, std::int64_t days) {
  auto promise = self->make_response_promise<bool>();
  auto& st = self->state;
  if (!st.writer_up || !st.schema_ready) {
    promise.deliver(caf::make_error(caf::sec::runtime_error, "the archive is not connected"));
    return promise;
  }
  run(self, st.writer,
      "INSERT INTO archive_rooms (room, retention_days) VALUES ($1, NULLIF($2::integer, 0)) "
      "ON CONFLICT (room) DO UPDATE SET retention_days = EXCLUDED.retention_days",
      {room, std::to_string(days)}, [promise](pg_result r) mutable {
        if (r.ok())
          promise.deliver(true);
        else
          promise.deliver(caf::make_error(caf::sec::runtime_error, "archive: " + r.error));
      });
  return promise;
}

/// A connection came up or went down. The schema runs again on each new
/// writer link: the database may be a new one.
void on_link(archive_self self, pg_link link, bool up) {
  auto& st = self->state;
  if (link == pg_link::writer) {
    st.writer_up = up;
    if (!up) {
      st.schema_ready = false;
    } else {
      st.last_schema_try = {};
      run_schema(self);
    }
  } else {
    st.reader_up = up;
  }
  set_up(self);
}

/// A query's result: its continuation runs, once.
void on_done(archive_self self, std::uint64_t token, pg_result& r) {
  auto it = self->state.calls.find(token);
  if (it == self->state.calls.end())
    return;
  auto k = std::move(it->second);
  self->state.calls.erase(it);
  k(std::move(r));
}

archive_impl::behavior_type archive(archive_self self, archive_bus bus, std::shared_ptr<pg_port> writer,
                                    std::shared_ptr<pg_port> reader, archive_settings settings,
                                    stats_ptr stats) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.stats = std::move(stats);
  st.bus = std::move(bus);
  st.writer = std::move(writer);
  st.reader = std::move(reader);
  self->set_error_handler([](caf::error&) {}); // an error message must not stop the archive
  self->send(st.bus, archiver_atom::value, archive_actor{caf::actor_cast<archive_actor>(self)},
             static_cast<std::uint64_t>(st.settings.hold));
  self->send(self, tick_atom::value);
  return {
    [self](archive_atom, const archive_notice& notice) { note(self, notice); },
    [self](history_atom, const history_query& q) { return answer_history(self, q); },
    [self](search_atom, const search_query& q) { return answer_search(self, q); },
    [self](retention_atom, const std::string& room, std::int64_t days) {
      return set_retention(self, room, days);
    },
    [self](erase_atom, const std::string& user) -> caf::result<erase_result> {
      auto promise = self->make_response_promise<erase_result>();
      erase_user(self, user, promise);
      return promise;
    },
    [self](link_atom, pg_link link, bool up, const std::string&) { on_link(self, link, up); },
    [self](done_atom, std::uint64_t token, pg_result& r) { on_done(self, token, r); },
    [self](tick_atom) {
      tick(self);
      self->delayed_send(self, self->state.settings.tick, tick_atom::value);
    },
  };
}

} // namespace

std::string batch_json(const entry_batch& batch) {
  std::string out = "[";
  for (const auto& e : batch) {
    if (out.size() > 1)
      out += ',';
    out += '[';
    out += std::to_string(e.id.ms);
    out += ',';
    out += std::to_string(e.id.seq);
    out += ',';
    out += std::to_string(e.number);
    out += ',';
    out += e.frame ? *e.frame : std::string{"{}"};
    out += ']';
  }
  out += ']';
  return out;
}

namespace {

/// (1.2) A row's reply_to, thread, and a root's replies and last_reply
/// (columns 9 to 12; absent from a database before version 2).
void add_reply_columns(const std::vector<std::optional<std::string>>& row, chat_message& msg,
                       message_state& state) {
  if (row.size() < 13)
    return;
  msg.reply_to = message_id::parse(text_of(row[9]));
  msg.thread = message_id::parse(text_of(row[10]));
  if (row[11])
    state.replies = static_cast<std::size_t>(std::max<std::int64_t>(number_of(row[11]), 0));
  if (row[12])
    state.last_reply = number_of(row[12]);
}

/// (1.2) A message's files as its `files` array was published (column 13).
std::vector<shared_file> files_of_column(const std::optional<std::string>& column) {
  std::vector<shared_file> files;
  if (!column)
    return files;
  auto list = nlohmann::json::parse(*column, nullptr, false);
  if (!list.is_array())
    return files;
  for (const auto& f : list) {
    if (!f.is_object())
      continue;
    auto text = [&](const char* key) {
      auto it = f.find(key);
      return it != f.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    auto number = [&](const char* key) -> std::uint64_t {
      auto it = f.find(key);
      return it != f.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
    };
    shared_file file{text("file"),
                     text("name"),
                     text("mime"),
                     number("size"),
                     static_cast<int>(number("width")),
                     static_cast<int>(number("height")),
                     !text("thumb").empty()};
    if (!file.file.empty())
      files.push_back(std::move(file));
  }
  return files;
}

/// (1.2) A message's preview as the archive keeps it: {url, title, description, site, image}.
std::optional<link_preview> preview_of_column(const std::string& column) {
  auto doc = nlohmann::json::parse(column, nullptr, false);
  if (!doc.is_object() || !doc.contains("url") || !doc["url"].is_string())
    return std::nullopt;
  auto text = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  return link_preview{text("url"), text("title"), text("description"), text("site"), text("image")};
}

} // namespace

std::vector<stored_message> messages_of_rows(const std::string& room, const pg_result& rows) {
  std::vector<stored_message> out;
  out.reserve(rows.rows.size());
  for (const auto& row : rows.rows) {
    if (row.size() < 9)
      continue;
    chat_message msg;
    msg.room = room;
    msg.id = {static_cast<std::uint64_t>(number_of(row[0])), static_cast<std::uint64_t>(number_of(row[1]))};
    msg.user = text_of(row[2]);
    msg.text = text_of(row[3]);
    msg.ts = number_of(row[4]);
    msg.cid = text_of(row[5]);
    message_state state;
    if (row[6])
      state.edited = number_of(row[6]);
    state.deleted = text_of(row[7]) == "t";
    auto reactions = nlohmann::json::parse(text_of(row[8]), nullptr, false);
    if (reactions.is_array())
      for (const auto& pair : reactions)
        if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_array()) {
          std::vector<std::string> users;
          for (const auto& u : pair[1])
            if (u.is_string())
              users.push_back(u.get<std::string>());
          state.reactions.emplace_back(pair[0].get<std::string>(), std::move(users));
        }
    add_reply_columns(row, msg, state);
    if (row.size() > 13)
      msg.files = files_of_column(row[13]);
    if (row.size() > 14 && row[14])
      state.preview = preview_of_column(*row[14]);
    msg.bot = row.size() > 15 && text_of(row[15]) == "t";
    if (row.size() > 16)
      msg.display = text_of(row[16]);
    out.push_back({msg.id, make_frame(encode_current_message(msg, state))});
  }
  return out;
}

archive_actor spawn_archive(caf::actor_system& sys, archive_bus bus, std::shared_ptr<pg_port> writer,
                            std::shared_ptr<pg_port> reader, archive_settings settings, stats_ptr stats) {
  return sys.spawn(archive, std::move(bus), std::move(writer), std::move(reader), std::move(settings),
                   std::move(stats));
}

pg_events forward_pg_events(std::shared_ptr<archive_actor> archive, pg_link link) {
  // The connections' events are the archive's own messages, beyond its
  // interface, so they are sent without its type; its behaviour has them.
  auto target = [archive] { return caf::actor_cast<caf::actor>(*archive); };
  pg_events events;
  events.up = [target, link] { caf::anon_send(target(), link_atom::value, link, true, std::string{}); };
  events.down = [target, link](const std::string& reason) {
    caf::anon_send(target(), link_atom::value, link, false, reason);
  };
  return events;
}

} // namespace chatnode

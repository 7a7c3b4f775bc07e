// The Redis bridge's messages: store.lua stores a message or a change once
// per (user, cid); with wait_replicas it is published (replicated.lua) only
// once its replicas have it. History, read positions and snapshots are read
// by their scripts.

#include "actors/redis_bus/redis_bridge_messages.hpp"

#include "actors/wire/protocol.hpp"
#include "actors/redis_bus/redis_bridge_presence.hpp"
#include "actors/redis_bus/redis_entries.hpp"
#include "actors/contracts/chat_stats.hpp"
#include "actors/contracts/mentions.hpp"

#include <algorithm>

namespace chatnode::bridge {

namespace {

/// The arguments store.lua takes after the cid TTL and publish command, and
/// the frame around the id it assigns.
message_template store_template(const store_request& req) {
  if (!req.change)
    return encode_message_template(req.room, req.user, req.text, req.cid, req.reply_to, req.files, req.bot,
                                   req.display);
  message_change change;
  change.kind = *req.change;
  change.room = req.room;
  change.target = req.target;
  change.user = req.user;
  change.text = req.text;
  change.emoji = req.emoji;
  change.on = req.on;
  change.cid = req.cid;
  change.preview = req.preview;
  return encode_change_template(change);
}

/// (1.2) A message's file ids, space-separated, as store.lua takes them.
std::string file_ids(const std::vector<shared_file>& files) {
  std::string out;
  for (const auto& f : files) {
    if (!out.empty())
      out += ' ';
    out += f.file;
  }
  return out;
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

/// The entry a repeated cid stored before, as published.
/// A repeated cid's entry. One nobody was shown yet (its first store's WAIT
/// timed out) is published now, and its echo through the hub answers the
/// sender in the room's order, as a new message's does.
store_result stored_before(const std::string& room, const redis_reply& r) {
  redis_reply entry;
  entry.type = redis_reply::kind::array;
  entry.elements = {r.elements[1], r.elements[2]};
  bool unshown = r.elements.size() > 4 && r.elements[4].str == "1";
  return {entry_event(room, entry), !unshown, std::nullopt};
}

/// The message of an entry and its state at position `i` of a script's answer.
stored_message entry_at(const std::string& room, const std::vector<redis_reply>& entries,
                        const std::vector<redis_reply>& states, std::size_t i) {
  return entry_now(room, entries[i], i < states.size() ? states[i].str : std::string{});
}

} // namespace

std::vector<std::string> snapshot_keys(const redis_keys& keys, const std::string& room) {
  return {keys.log(room),   keys.members(room),   keys.presence_version(room),
          keys.nodes(room), keys.watermark(room), keys.states(room),
          keys.reads(room)};
}

void message_store::answer_snapshot(const std::string& room, const recent_query& query,
                                    snapshot_promise promise) {
  std::vector<std::string> args{query.since ? query.since->to_string() : std::string{},
                                std::to_string(query.limit), core_.replicated_flag(), query.user,
                                query.members ? "1" : "0"};
  calls_.send(redis_call::run_script(scripts::snapshot, snapshot_keys(core_.keys, room), std::move(args)),
              deliver_to(std::move(promise), [this, room, query](const redis_reply& r) {
                return decode_snapshot(room, query, r);
              }));
}

std::optional<room_snapshot> message_store::decode_snapshot(const std::string& room,
                                                            const recent_query& query,
                                                            const redis_reply& r) const {
  if (!is_array(r, 7))
    return std::nullopt;
  room_snapshot snap;
  const auto& entries = r.elements[0].elements;
  const auto& states = r.elements[4].elements;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (is_change(entries[i]))
      snap.changes.push_back(entry_event(room, entries[i]));
    else
      snap.history.messages.push_back(entry_at(room, entries, states, i));
  }
  if (!query.since) // newest first
    std::reverse(snap.history.messages.begin(), snap.history.messages.end());
  snap.history.more = r.elements[3].integer != 0 || (!query.since && feed_.older_archived(entries));
  snap.members = distinct_names(r.elements[1]);
  snap.presence_version = std::strtoull(r.elements[2].str.c_str(), nullptr, 10);
  snap.read = message_id::parse(r.elements[5].str);
  snap.unread = static_cast<std::size_t>(std::max<long long>(r.elements[6].integer, 0));
  return snap;
}

caf::result<message_page> message_store::history(const history_query& query) {
  if (query.thread)
    return thread_page(query);
  const auto& keys = core_.keys;
  return calls_.answer<message_page>(
    redis_call::run_script(scripts::history,
                           {keys.log(query.room), keys.watermark(query.room), keys.states(query.room)},
                           {query.before ? query.before->to_string() : std::string{},
                            std::to_string(query.limit + 1), core_.replicated_flag()}),
    [this, query](const redis_reply& r) -> std::optional<message_page> {
      if (!is_array(r, 2))
        return std::nullopt;
      const auto& entries = r.elements[0].elements;
      message_page page;
      page.more = entries.size() > query.limit || feed_.older_archived(entries);
      for (std::size_t i = 0; i < std::min(query.limit, entries.size()); ++i)
        page.messages.push_back(entry_at(query.room, entries, r.elements[1].elements, i));
      std::reverse(page.messages.begin(), page.messages.end());
      return page;
    });
}

caf::result<message_page> message_store::thread_page(const history_query& query) {
  const auto& keys = core_.keys;
  return calls_.answer<message_page>(
    redis_call::run_script(scripts::thread,
                           {keys.log(query.room), keys.watermark(query.room), keys.states(query.room),
                            keys.thread_prefix(query.room) + query.thread->to_string()},
                           {query.before ? query.before->to_string() : std::string{},
                            std::to_string(query.limit), core_.replicated_flag()}),
    [this, query](const redis_reply& r) -> std::optional<message_page> {
      if (!is_array(r, 3))
        return std::nullopt;
      const auto& entries = r.elements[0].elements;
      message_page page;
      // Older ones in the stream, or ones that left it for the archive.
      page.more = r.elements[2].integer == 1 || (r.elements[2].integer == 2 && feed_.active());
      for (std::size_t i = 0; i < entries.size(); ++i)
        page.messages.push_back(entry_at(query.room, entries, r.elements[1].elements, i));
      return page;
    });
}

caf::result<read_result> message_store::mark_thread_read(const read_request& req) {
  const auto& keys = core_.keys;
  return calls_.answer<read_result>(
    redis_call::run_script(
      scripts::thread_read,
      {keys.thread_prefix(req.room), keys.states(req.room), keys.channel(req.room), keys.watermark(req.room)},
      {req.user, req.root->to_string(), req.id.to_string(), core_.publish_command(),
       core_.replicated_flag()}),
    [room = req.room, root = *req.root](const redis_reply& r) -> std::optional<read_result> {
      if (!is_array(r, 1))
        return std::nullopt;
      if (r.elements[0].str == "none" || r.elements.size() < 3) // not followed: no position
        return read_result{make_frame(encode_thread_read(room, root, std::nullopt, 0)), false, std::nullopt};
      auto id = message_id::parse(r.elements[1].str);
      auto unread = static_cast<std::size_t>(std::max<long long>(r.elements[2].integer, 0));
      return read_result{make_frame(encode_thread_read(room, root, id, unread)), r.elements[0].str == "new",
                         std::nullopt};
    });
}

caf::result<followed_threads> message_store::threads(const threads_query& query) {
  const auto& keys = core_.keys;
  return calls_.answer<followed_threads>(
    redis_call::run_script(
      scripts::threads, {keys.thread_prefix(query.room), keys.states(query.room), keys.watermark(query.room)},
      {query.user, core_.replicated_flag()}),
    [](const redis_reply& r) -> std::optional<followed_threads> {
      if (r.is_error())
        return std::nullopt;
      followed_threads out;
      for (const auto& t : r.elements) {
        if (t.elements.size() < 5)
          continue;
        auto root = message_id::parse(t.elements[0].str);
        if (!root)
          continue;
        followed_thread f;
        f.root = *root;
        f.read = message_id::parse(t.elements[1].str);
        f.unread = static_cast<std::size_t>(std::max<long long>(t.elements[2].integer, 0));
        f.replies = static_cast<std::size_t>(std::max<long long>(t.elements[3].integer, 0));
        if (!t.elements[4].str.empty())
          f.last_reply = std::strtoll(t.elements[4].str.c_str(), nullptr, 10);
        out.threads.push_back(std::move(f));
      }
      std::stable_sort(out.threads.begin(), out.threads.end(), [](const auto& a, const auto& b) {
        return a.last_reply.value_or(0) > b.last_reply.value_or(0);
      });
      if (out.threads.size() > max_threads_listed)
        out.threads.resize(max_threads_listed);
      return out;
    });
}

caf::result<read_result> message_store::mark_read(const read_request& req) {
  if (req.root)
    return mark_thread_read(req);
  const auto& keys = core_.keys;
  return calls_.answer<read_result>(
    redis_call::run_script(
      scripts::read,
      {keys.log(req.room), keys.reads(req.room), keys.channel(req.room), keys.watermark(req.room)},
      {req.user, req.id.to_string(), core_.publish_command(), core_.replicated_flag()}),
    [room = req.room](const redis_reply& r) -> std::optional<read_result> {
      if (!is_array(r, 1))
        return std::nullopt;
      if (r.elements[0].str == "none" || r.elements.size() < 3)
        return read_result{nullptr, false, refusal{error_code::not_found, "nothing to read in this room"}};
      auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
      auto unread = static_cast<std::size_t>(std::max<long long>(r.elements[2].integer, 0));
      return read_result{make_frame(encode_read(room, id, unread)), r.elements[0].str == "new", std::nullopt};
    });
}

/// Publishes a stored message that reached its replicas, then answers its
/// sender: the message is shown to nobody before it is safe.
void message_store::publish_replicated(const std::string& room, store_result result,
                                       const std::string& previous, store_promise promise) {
  // Read before the callback below takes `result` over.
  std::vector<std::string> args{result.message.id.to_string(), previous, *result.message.frame,
                                core_.publish_command()};
  calls_.send(
    redis_call::run_script(scripts::replicated, {core_.keys.watermark(room), core_.keys.channel(room)},
                           std::move(args)),
    deliver_to(std::move(promise),
               [result = std::move(result)](const redis_reply& r) mutable -> std::optional<store_result> {
                 if (r.is_error())
                   return std::nullopt;
                 return std::move(result);
               }));
}

namespace {

/// The names a thread message mentions, one per line, for store.lua.
std::string mentioned_lines(const std::string& text) {
  std::string lines;
  for (const auto& name : mentioned_names(text, max_mentions_followed)) {
    if (name.find('\n') != std::string::npos)
      continue;
    lines += name;
    lines += '\n';
  }
  return lines;
}

} // namespace

caf::result<store_result> message_store::store(const store_request& req) {
  const auto& keys = core_.keys;
  const auto& settings = core_.settings;
  auto t = store_template(req);
  std::string kind{req.change ? static_cast<char>(*req.change) : 'm'};
  auto call = redis_call::run_script(
    scripts::store,
    {keys.log(req.room), keys.cids(req.room), keys.channel(req.room), keys.watermark(req.room),
     keys.states(req.room), keys.numbered(req.room), keys.mutes(req.room), keys.archived(req.room),
     keys.thread_prefix(req.room), keys.file_claims(req.room), keys.hook(req.room)},
    {kind,
     req.user,
     req.text,
     req.cid,
     std::to_string(settings.retention),
     t.head,
     t.middle,
     t.tail,
     std::to_string(std::chrono::milliseconds{settings.cid_ttl}.count()),
     core_.replicated() ? std::string{} : core_.publish_command(),
     req.target.to_string(),
     req.emoji,
     req.on ? "1" : "0",
     req.moderator ? "1" : "0",
     feed_.active() ? "1" : "0",
     std::to_string(feed_.hold()),
     req.reply_to ? req.reply_to->to_string() : std::string{},
     req.thread ? req.thread->to_string() : std::string{},
     thread_fields().open,
     thread_fields().close,
     thread_fields().replies,
     thread_fields().last_reply,
     req.change ? std::string{} : files_field(req.files),
     file_ids(req.files),
     req.change == change_kind::preview ? preview_field(req.preview) : std::string{},
     req.thread && !req.change ? mentioned_lines(req.text) : std::string{},
     feed_.hook_hold(req.room),
     req.bot ? "1" : "0",
     req.change ? std::string{} : req.display},
    settings.wait_replicas);
  return calls_.answer_then<store_result>(
    std::move(call),
    [this, req](redis_reply r, store_promise& promise) { on_stored(req, r, std::move(promise)); });
}

store_result message_store::stored_new(const store_request& req, const redis_reply& r) {
  auto id = message_id::parse(r.elements[1].str).value_or(message_id{});
  std::vector<std::string> gone;
  if (r.elements.size() > 4)
    for (const auto& field : r.elements[4].elements)
      gone.push_back(field.str);
  std::vector<std::string> sent;
  if (!req.change)
    for (const auto& f : req.files)
      sent.push_back(f.file);
  files_.settle(sent, gone);
  core_.stats->messages_stored.fetch_add(1, std::memory_order_relaxed);
  if (!req.change)
    directory_.note_activity(req.room, static_cast<std::int64_t>(id.ms));
  feed_.tell(req.room, id, true);
  return {{id, make_frame(r.elements[2].str)}, false, std::nullopt};
}

void message_store::on_stored(const store_request& req, const redis_reply& r, store_promise promise) {
  if (!is_array(r, 3)) {
    promise.deliver(redis_failure(r.str));
    return;
  }
  const auto& outcome = r.elements[0].str;
  if (outcome == "refused") {
    auto code = r.elements[1].str == "forbidden"     ? error_code::forbidden
                : r.elements[1].str == "bad_request" ? error_code::bad_request
                                                     : error_code::not_found;
    promise.deliver(store_result{{}, false, refusal{code, r.elements[2].str}});
    return;
  }
  if (outcome == "same") {
    promise.deliver(reaction_as_is(req, r));
    return;
  }
  if (r.elements.size() < 4) {
    promise.deliver(redis_failure("a short reply to store"));
    return;
  }
  auto result = outcome == "new" ? stored_new(req, r) : stored_before(req.room, r);
  if (!core_.replicated()) {
    promise.deliver(std::move(result));
    return;
  }
  // Stored, and now on the replicas (a repeated cid's entry too: its first
  // store may not have got that far).
  publish_replicated(req.room, std::move(result), r.elements[3].str, std::move(promise));
}

} // namespace chatnode::bridge

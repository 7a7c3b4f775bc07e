#include "actors/embedded_bus/history.hpp"

#include "actors/contracts/mentions.hpp"
#include "actors/contracts/upload_ticket.hpp"
#include "actors/wire/protocol.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace chatnode {

room_history::room_history(std::size_t retention)
  : retention_(std::max<std::size_t>(retention, 1)) {}

std::string room_history::cid_key(const std::string& user, const std::string& cid) {
  // Length-prefixed, so no user/cid pair can collide with another.
  auto key = std::to_string(user.size());
  key += ':';
  key += user;
  key += cid;
  return key;
}

message_id room_history::next_id(std::int64_t now_ms) {
  // The first entry stored while webhooks take the room is the first they send.
  if (hooked_ && !hook_mark_)
    hook_mark_ = last_id_;
  auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(now_ms, 0));
  // Like Redis streams: never go back in time, count up within one ms.
  if (ms <= last_id_.ms)
    last_id_ = {last_id_.ms, last_id_.seq + 1};
  else
    last_id_ = {ms, 0};
  return last_id_;
}

std::deque<room_history::entry>::iterator room_history::find(message_id id) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const entry& e, message_id x) { return e.id < x; });
  return it != entries_.end() && it->id == id ? it : entries_.end();
}

std::deque<room_history::entry>::const_iterator room_history::find(message_id id) const {
  return const_cast<room_history*>(this)->find(id);
}

const frame_ptr& room_history::current_frame(const entry& e) const {
  if (!e.current)
    e.current = make_frame(encode_current_message(e.message, e.state));
  return e.current;
}

std::vector<std::string> room_history::take_dropped_files() {
  return std::exchange(dropped_files_, {});
}

std::vector<std::string> room_history::files_of(message_id id) const {
  std::vector<std::string> ids;
  if (auto it = find(id); it != entries_.end() && !it->change) {
    for (const auto& f : it->message.files)
      ids.push_back(f.file);
    if (it->state.preview)
      if (auto image = file_of_preview_image(it->state.preview->image); !image.empty())
        ids.push_back(std::move(image)); // its message's own copy
  }
  return ids;
}

room_history::append_result room_history::append(std::string room, std::string user, std::string text,
                                                 std::string cid, std::int64_t now_ms) {
  return append(message_request(std::move(room), std::move(user), std::move(text), std::move(cid)), now_ms);
}

room_history::append_result room_history::append(const store_request& req, std::int64_t now_ms) {
  std::string key;
  if (!req.cid.empty()) {
    key = cid_key(req.user, req.cid);
    if (auto it = cids_.find(key); it != cids_.end())
      if (auto stored = find(it->second); stored != entries_.end())
        return {{stored->id, stored->frame}, true, std::nullopt};
  }
  if (req.change)
    return store_change(req, now_ms);
  std::optional<message_id> root;
  if (auto refused = check_reply(req, root))
    return {{}, false, std::move(refused)};
  for (const auto& f : req.files)
    if (sent_files_.contains(f.file))
      return {{}, false, refusal{error_code::bad_request, "file " + f.file + " was sent already"}};
  for (const auto& f : req.files)
    sent_files_.insert(f.file);
  auto id = next_id(now_ms);
  entry e;
  e.id = id;
  e.number = ++numbered_;
  e.message = chat_message{req.room,   id,           req.user, req.text,  static_cast<std::int64_t>(id.ms),
                           req.cid,    req.reply_to, root,     req.files, req.bot,
                           req.display};
  e.last_change = id;
  if (root)
    count_reply(*root, e); // before the push: it moves the deque's entries
  e.frame = make_frame(encode_message(e.message));
  e.cid_key = key;
  if (!key.empty())
    cids_[key] = id;
  stored_message stored{id, e.frame};
  if (root)
    follow_thread(*root, e);
  entries_.push_back(std::move(e));
  ++messages_;
  trim();
  return {std::move(stored), false, std::nullopt};
}

room_history::append_result room_history::store_change(const store_request& req, std::int64_t now_ms) {
  auto refuse = [](error_code code, std::string reason) {
    return append_result{{}, false, refusal{code, std::move(reason)}};
  };
  auto target = find(req.target);
  auto kind = *req.change;
  if (target == entries_.end() || target->change)
    return refuse(error_code::not_found, "no such message in the room's history");
  if (target->state.deleted)
    return refuse(error_code::not_found, "the message was deleted");
  if (kind == change_kind::preview && target->state.preview)
    return refuse(error_code::bad_request, "the message has a preview already");
  bool moderated = kind == change_kind::remove && req.moderator;
  if (kind != change_kind::reaction && target->message.user != req.user && !moderated)
    return refuse(error_code::forbidden, kind == change_kind::edit ? "only its author may edit a message"
                                                                   : "only its author may delete a message");
  message_change change{kind, req.room, {}, req.target, req.user, req.text, 0, req.emoji, req.on, 0, req.cid};
  change.preview = req.preview;
  if (kind == change_kind::reaction && target->state.has_reaction(req.emoji, req.user) == req.on) {
    // Already so: nothing is stored, the sender hears how it stands.
    change.id = target->last_change;
    change.count = target->state.count(req.emoji);
    change.unchanged = true;
    return {{change.id, make_frame(encode_change(change))}, true, std::nullopt};
  }
  change.id = next_id(now_ms);
  change.ts = static_cast<std::int64_t>(change.id.ms);
  switch (kind) {
    case change_kind::edit:
      target->message.text = req.text;
      target->state.edited = change.ts;
      break;
    case change_kind::remove: {
      // A deleted root keeps its thread, and what it holds.
      auto replies = target->state.replies;
      auto last_reply = target->state.last_reply;
      target->message.text.clear();
      target->message.files.clear();
      target->state = message_state{};
      target->state.deleted = true;
      target->state.replies = replies;
      target->state.last_reply = last_reply;
      if (target->message.thread)
        uncount_reply(*target, change);
      break;
    }
    case change_kind::reaction:
      target->state.react(req.emoji, req.user, req.on);
      change.count = target->state.count(req.emoji);
      break;
    case change_kind::preview: target->state.preview = req.preview; break;
    case change_kind::moderation: break; // not a change of a message: append_moderation
  }
  target->last_change = change.id;
  target->current.reset();
  entry e;
  e.id = change.id;
  e.change = kind;
  e.number = numbered_;
  e.frame = make_frame(encode_change(change));
  if (!req.cid.empty()) {
    e.cid_key = cid_key(req.user, req.cid);
    cids_[e.cid_key] = e.id;
  }
  stored_message stored{e.id, e.frame};
  entries_.push_back(std::move(e));
  trim();
  return {std::move(stored), false, std::nullopt};
}

stored_message room_history::append_moderation(moderation_event event, std::int64_t now_ms) {
  entry e;
  e.id = event.id = next_id(now_ms);
  e.change = change_kind::moderation;
  e.number = numbered_;
  e.frame = make_frame(encode_moderation(event));
  stored_message stored{e.id, e.frame};
  entries_.push_back(std::move(e));
  trim();
  return stored;
}

std::optional<refusal> room_history::check_reply(const store_request& req,
                                                 std::optional<message_id>& root) const {
  auto check = [this](std::optional<message_id> id, const char* what) -> std::optional<refusal> {
    if (!id)
      return std::nullopt;
    auto it = find(*id);
    if (it == entries_.end() || it->change)
      return refusal{error_code::not_found, std::string{what} + ": no such message in the room's history"};
    if (it->state.deleted)
      return refusal{error_code::not_found, std::string{what} + ": the message was deleted"};
    return std::nullopt;
  };
  if (auto refused = check(req.reply_to, "reply_to"))
    return refused;
  if (auto refused = check(req.thread, "thread"))
    return refused;
  if (!req.thread)
    return std::nullopt;
  // A message in a thread names its thread: a reply to it goes there too.
  root = find(*req.thread)->message.thread.value_or(*req.thread);
  if (*root != *req.thread)
    return check(root, "thread");
  return std::nullopt;
}

void room_history::count_reply(message_id root, entry& reply) {
  auto it = find(root);
  it->state.replies = it->state.replies.value_or(0) + 1;
  it->state.last_reply = reply.message.ts;
  it->current.reset();
  reply.thread_number = ++it->thread_total;
  threads_[root].push_back(reply.id);
}

void room_history::follow_thread(message_id root, const entry& reply) {
  follows_.follow(root, reply.message.user, reply.id);
  if (auto it = find(root); it != entries_.end())
    follows_.follow(root, it->message.user);
  for (const auto& name : mentioned_names(reply.message.text, max_mentions_followed))
    follows_.follow(root, name);
}

void room_history::uncount_reply(const entry& reply, message_change& change) {
  auto root = find(*reply.message.thread);
  if (root == entries_.end())
    return; // the root left: no snapshot shows it any more
  // The newest message of the thread that is not deleted (this one is now).
  std::optional<std::int64_t> last;
  const auto& ids = threads_[root->id];
  for (auto it = ids.rbegin(); it != ids.rend() && !last; ++it)
    if (auto e = find(*it); e != entries_.end() && !e->state.deleted)
      last = e->message.ts;
  root->state.replies = root->state.replies.value_or(1) - 1;
  root->state.last_reply = last;
  root->current.reset();
  change.thread = root->id;
  change.replies = *root->state.replies;
  change.last_reply = last;
}

void room_history::drop_front() {
  auto& front = entries_.front();
  if (!front.cid_key.empty())
    cids_.erase(front.cid_key);
  // Its files stay sent (the store remembers); without an archive nothing
  // shows them any more, so they go.
  for (auto& f : front.message.files) {
    sent_files_.erase(f.file);
    if (!archived_)
      dropped_files_.push_back(std::move(f.file));
  }
  if (!archived_ && front.state.preview)
    if (auto image = file_of_preview_image(front.state.preview->image); !image.empty())
      dropped_files_.push_back(std::move(image));
  if (!front.change) {
    --messages_;
    follows_.forget(front.id); // a root that leaves takes no more replies: nobody follows it
  }
  if (front.message.thread) {
    // Thread messages leave in the order they came: this one is its thread's oldest.
    auto thread = threads_.find(*front.message.thread);
    if (thread != threads_.end()) {
      thread->second.pop_front();
      if (thread->second.empty())
        threads_.erase(thread);
    }
  }
  entries_.pop_front();
}

void room_history::trim() {
  auto cap = retention_ * change_allowance;
  // With an archive or webhooks, an entry not archived or sent yet stays
  // (up to the cap): the backlog waits here while they are slow or away.
  auto archived = [this](const entry& e) {
    return (!archived_ || e.id <= archived_mark_) && (!hook_mark_ || e.id <= *hook_mark_);
  };
  if (archived_)
    cap = std::max(cap, hold_);
  if (hooked_)
    cap = std::max(cap, hook_hold_);
  while ((messages_ > retention_ && archived(entries_.front())) || entries_.size() > cap) {
    drop_front();
    // Changes before the oldest message kept change nothing that is kept.
    while (!entries_.empty() && entries_.front().change &&
           (archived(entries_.front()) || entries_.size() > cap))
      drop_front();
  }
}

room_history::since_page room_history::after(message_id after) const {
  auto first = std::upper_bound(entries_.begin(), entries_.end(), after,
                                [](message_id id, const entry& e) { return id < e.id; });
  since_page result;
  for (auto it = first; it != entries_.end(); ++it) {
    if (it->change)
      result.changes.push_back({it->id, it->frame});
    else
      result.messages.messages.push_back({it->id, current_frame(*it)});
  }
  result.messages.more = first != entries_.begin();
  return result;
}

message_page room_history::page(std::optional<message_id> before, std::size_t limit) const {
  auto end = entries_.end();
  if (before)
    end = std::lower_bound(entries_.begin(), entries_.end(), *before,
                           [](const entry& e, message_id id) { return e.id < id; });
  message_page result;
  auto it = end;
  while (it != entries_.begin() && result.messages.size() < limit) {
    --it;
    if (!it->change)
      result.messages.push_back({it->id, current_frame(*it)});
  }
  std::reverse(result.messages.begin(), result.messages.end());
  // Older messages exist when one is left before the page's first.
  result.more =
    std::any_of(entries_.begin(), it, [](const entry& e) { return !e.change; }) || archived_older();
  return result;
}

message_page room_history::thread_page(message_id root, std::optional<message_id> before,
                                       std::size_t limit) const {
  message_page result;
  auto thread = threads_.find(root);
  if (thread == threads_.end())
    return result;
  const auto& ids = thread->second;
  auto end = before ? std::lower_bound(ids.begin(), ids.end(), *before) : ids.end();
  auto begin = end - static_cast<std::ptrdiff_t>(std::min<std::size_t>(limit, end - ids.begin()));
  for (auto it = begin; it != end; ++it)
    result.messages.push_back({*it, current_frame(*find(*it))});
  // Older ones exist before the page, or in the archive when the thread's
  // first messages left the log.
  result.more = begin != ids.begin() || (archived_ && find(ids.front())->thread_number > 1);
  return result;
}

void room_history::mark_archived(message_id mark) {
  if (mark <= archived_mark_)
    return;
  archived_mark_ = mark;
  trim();
}

void room_history::set_hooked(bool hooked, std::size_t hold) {
  hooked_ = hooked;
  hook_hold_ = hold;
  if (!hooked)
    hook_mark_.reset();
}

message_id room_history::hook_cursor() const {
  return hook_mark_ ? *hook_mark_ : last_id_;
}

void room_history::mark_hooked(message_id mark) {
  if (!hooked_ || (hook_mark_ && mark <= *hook_mark_))
    return;
  hook_mark_ = mark;
  trim();
}

bool room_history::archived_older() const {
  if (!archived_)
    return false;
  auto oldest = std::find_if(entries_.begin(), entries_.end(), [](const entry& e) { return !e.change; });
  return oldest != entries_.end() && oldest->number > 1;
}

entry_batch room_history::entries_after(message_id after, std::size_t limit) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), after,
                             [](message_id id, const entry& e) { return id < e.id; });
  entry_batch out;
  for (; it != entries_.end() && out.size() < limit; ++it)
    out.push_back({it->id, it->number, it->frame});
  return out;
}

std::optional<std::int64_t> room_history::last_message_ts() const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (!it->change)
      return static_cast<std::int64_t>(it->id.ms);
  return std::nullopt;
}

std::size_t room_history::unread_after(message_id id) const {
  auto first_after = std::upper_bound(entries_.begin(), entries_.end(), id,
                                      [](message_id x, const entry& e) { return x < e.id; });
  std::uint64_t read_number;
  if (first_after == entries_.begin())
    read_number = entries_.empty() ? numbered_ : entries_.front().number - (entries_.front().change ? 0 : 1);
  else
    read_number = std::prev(first_after)->number;
  return static_cast<std::size_t>(numbered_ - read_number);
}

room_history::read_position room_history::read_of(const std::string& user) const {
  auto it = reads_.find(user);
  if (it == reads_.end())
    return {};
  return {it->second, unread_after(it->second)};
}

std::optional<room_history::read_update> room_history::mark_read(const std::string& user, message_id id) {
  if (entries_.empty())
    return std::nullopt;
  id = std::min(id, entries_.back().id);
  auto it = reads_.find(user);
  if (it != reads_.end() && id <= it->second)
    return read_update{{it->second, unread_after(it->second)}, false};
  if (it == reads_.end()) {
    if (reads_.size() >= max_readers_per_room)
      reads_.erase(reads_.begin()); // the bound on this node's memory; an arbitrary reader forgets
    it = reads_.emplace(user, id).first;
  } else {
    it->second = id;
  }
  return read_update{{id, unread_after(id)}, true};
}

std::size_t room_history::thread_unread(message_id root, std::optional<message_id> read) const {
  auto thread = threads_.find(root);
  if (thread == threads_.end())
    return 0;
  std::size_t unread = 0;
  for (auto it = thread->second.rbegin(); it != thread->second.rend() && (!read || *it > *read); ++it)
    if (auto e = find(*it); e != entries_.end() && !e->state.deleted)
      ++unread;
  return unread;
}

std::optional<room_history::read_update> room_history::mark_thread_read(const std::string& user,
                                                                        message_id root, message_id id) {
  auto read = follows_.read_of(root, user);
  auto thread = threads_.find(root);
  if (!read || thread == threads_.end())
    return std::nullopt;
  id = std::min(id, thread->second.back());
  bool moved = follows_.mark_read(root, user, id);
  auto now = moved ? std::optional{id} : *read;
  return read_update{{now, thread_unread(root, now)}, moved};
}

followed_threads room_history::threads_of(const std::string& user, std::size_t limit) const {
  followed_threads out;
  for (auto root : follows_.roots_of(user)) {
    auto it = find(root);
    if (it == entries_.end())
      continue;
    followed_thread t;
    t.root = root;
    t.read = follows_.read_of(root, user).value_or(std::nullopt);
    t.unread = thread_unread(root, t.read);
    t.replies = it->state.replies.value_or(0);
    t.last_reply = it->state.last_reply;
    out.threads.push_back(std::move(t));
  }
  std::stable_sort(out.threads.begin(), out.threads.end(),
                   [](const followed_thread& a, const followed_thread& b) {
                     return a.last_reply.value_or(0) > b.last_reply.value_or(0);
                   });
  if (out.threads.size() > limit)
    out.threads.resize(limit);
  return out;
}

} // namespace chatnode

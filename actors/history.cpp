#include "actors/history.hpp"

#include <algorithm>

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
  auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(now_ms, 0));
  // Like Redis streams: never go back in time, count up within one ms.
  if (ms <= last_id_.ms)
    last_id_ = {last_id_.ms, last_id_.seq + 1};
  else
    last_id_ = {ms, 0};
  return last_id_;
}

room_history::append_result room_history::append(std::string room, std::string user, std::string text,
                                                 std::string cid, std::int64_t now_ms) {
  std::string key;
  if (!cid.empty()) {
    key = cid_key(user, cid);
    if (auto it = cids_.find(key); it != cids_.end()) {
      auto pos = std::lower_bound(messages_.begin(), messages_.end(), it->second,
                                  [](const entry& e, message_id id) { return e.message.id < id; });
      if (pos != messages_.end() && pos->message.id == it->second)
        return {pos->message, true};
    }
  }
  auto id = next_id(now_ms);
  chat_message msg{std::move(room), id, std::move(user), std::move(text), static_cast<std::int64_t>(id.ms),
                   std::move(cid)};
  stored_message stored{id, make_frame(encode_message(msg))};
  if (!key.empty())
    cids_[key] = id;
  messages_.push_back({stored, std::move(key)});
  while (messages_.size() > retention_) {
    if (!messages_.front().cid_key.empty())
      cids_.erase(messages_.front().cid_key);
    messages_.pop_front();
  }
  return {std::move(stored), false};
}

message_page room_history::after(message_id after) const {
  auto first = std::upper_bound(messages_.begin(), messages_.end(), after,
                                [](message_id id, const entry& e) { return id < e.message.id; });
  message_page page;
  page.messages.reserve(static_cast<std::size_t>(messages_.end() - first));
  for (auto it = first; it != messages_.end(); ++it)
    page.messages.push_back(it->message);
  page.more = first != messages_.begin();
  return page;
}

message_page room_history::page(std::optional<message_id> before, std::size_t limit) const {
  auto end = messages_.end();
  if (before)
    end = std::lower_bound(messages_.begin(), messages_.end(), *before,
                           [](const entry& e, message_id id) { return e.message.id < id; });
  auto count = std::min<std::size_t>(limit, static_cast<std::size_t>(end - messages_.begin()));
  auto first = end - static_cast<std::ptrdiff_t>(count);
  message_page result;
  result.messages.reserve(count);
  for (auto it = first; it != end; ++it)
    result.messages.push_back(it->message);
  result.more = first != messages_.begin();
  return result;
}

} // namespace chatnode

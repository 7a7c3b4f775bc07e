#include "actors/history.hpp"

#include <algorithm>

namespace chatnode {

room_history::room_history(std::size_t retention) : retention_(std::max<std::size_t>(retention, 1)) {}

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

room_history::append_result room_history::append(std::string room, std::string user,
                                                   std::string text, std::string cid,
                                                   std::int64_t now_ms) {
  if (!cid.empty()) {
    if (auto it = cids_.find(cid_key(user, cid)); it != cids_.end()) {
      auto pos = std::lower_bound(messages_.begin(), messages_.end(), it->second,
                                  [](const chat_message& m, message_id id) { return m.id < id; });
      if (pos != messages_.end() && pos->id == it->second)
        return {*pos, true};
    }
  }
  chat_message msg{std::move(room), next_id(now_ms), std::move(user), std::move(text), now_ms,
                   std::move(cid)};
  if (!msg.cid.empty())
    cids_[cid_key(msg.user, msg.cid)] = msg.id;
  messages_.push_back(msg);
  while (messages_.size() > retention_) {
    const auto& old = messages_.front();
    if (!old.cid.empty())
      cids_.erase(cid_key(old.user, old.cid));
    messages_.pop_front();
  }
  return {std::move(msg), false};
}

message_page room_history::after(message_id after) const {
  auto first = std::upper_bound(messages_.begin(), messages_.end(), after,
                                [](message_id id, const chat_message& m) { return id < m.id; });
  message_page page;
  page.messages.assign(first, messages_.end());
  page.more = first != messages_.begin();
  return page;
}

message_page room_history::page(std::optional<message_id> before, std::size_t limit) const {
  auto end = messages_.end();
  if (before)
    end = std::lower_bound(messages_.begin(), messages_.end(), *before,
                           [](const chat_message& m, message_id id) { return m.id < id; });
  auto count = std::min<std::size_t>(limit, static_cast<std::size_t>(end - messages_.begin()));
  auto first = end - static_cast<std::ptrdiff_t>(count);
  message_page result;
  result.messages.assign(first, end);
  result.more = first != messages_.begin();
  return result;
}

} // namespace chatnode

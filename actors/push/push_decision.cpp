#include "actors/push/push_decision.hpp"

#include "actors/contracts/mentions.hpp"
#include "actors/people/moderation.hpp"

#include <algorithm>

namespace chatnode {

push_owed_message owed_push(std::string room, std::string id, std::string sender, std::string_view text) {
  push_owed_message m;
  m.dm = is_dm_room(room);
  m.room = std::move(room);
  m.id = std::move(id);
  m.sender = std::move(sender);
  m.mentioned = mentioned_names(text, max_mentions_followed);
  // Cut after the 200th character: a UTF-8 lead byte starts each one.
  std::size_t characters = 0;
  std::size_t end = 0;
  for (; end < text.size(); ++end)
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && characters++ == push_text_characters)
      break;
  m.text = std::string{text.substr(0, end)};
  return m;
}

std::vector<std::string> push_candidates::of(const push_owed_message& m) const {
  std::set<std::string> users{at_all.begin(), at_all.end()};
  users.insert(parties.begin(), parties.end());
  users.insert(m.mentioned.begin(), m.mentioned.end());
  users.erase(m.sender);
  return {users.begin(), users.end()};
}

bool pushes_for(const push_owed_message& m, const std::string& user, const std::string& level) {
  if (user == m.sender)
    return false;
  auto effective = level.empty() ? (m.dm ? "all" : "mentions") : level;
  if (effective == "all")
    return true;
  if (effective == "mentions")
    return std::find(m.mentioned.begin(), m.mentioned.end(), user) != m.mentioned.end();
  return false;
}

} // namespace chatnode

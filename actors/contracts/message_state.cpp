#include "actors/contracts/chat_types.hpp"

#include <algorithm>

namespace chatnode {

namespace {

template <class Reactions>
auto find_emoji(Reactions& reactions, std::string_view emoji) {
  return std::find_if(reactions.begin(), reactions.end(), [&](const auto& r) { return r.first == emoji; });
}

} // namespace

bool message_state::has_reaction(std::string_view emoji, std::string_view user) const {
  auto it = find_emoji(reactions, emoji);
  return it != reactions.end() && std::find(it->second.begin(), it->second.end(), user) != it->second.end();
}

std::size_t message_state::count(std::string_view emoji) const {
  auto it = find_emoji(reactions, emoji);
  return it == reactions.end() ? 0 : it->second.size();
}

bool message_state::react(const std::string& emoji, const std::string& user, bool on) {
  auto it = find_emoji(reactions, emoji);
  if (on) {
    if (it == reactions.end()) {
      reactions.emplace_back(emoji, std::vector<std::string>{user});
      return true;
    }
    if (std::find(it->second.begin(), it->second.end(), user) != it->second.end())
      return false;
    it->second.push_back(user);
    return true;
  }
  if (it == reactions.end())
    return false;
  auto user_it = std::find(it->second.begin(), it->second.end(), user);
  if (user_it == it->second.end())
    return false;
  it->second.erase(user_it);
  if (it->second.empty())
    reactions.erase(it); // an emoji nobody reacts with is not listed
  return true;
}

} // namespace chatnode

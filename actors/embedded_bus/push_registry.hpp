#pragma once
// (1.2) The embedded bus's push subscriptions and notification levels, per
// user. Kept in a file (when given one) so that they survive restarts, as
// Redis keeps them for a deployment of many nodes: a browser subscribes once
// and is not asked again when the node restarts.

#include "actors/contracts/messages.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace chatnode {

class push_registry {
public:
  /// Reads what `file` holds (nothing when it is missing or unreadable);
  /// without a file, everything is kept in memory only.
  explicit push_registry(std::filesystem::path file = {});
  /// What changed since the last save is written.
  ~push_registry();
  /// The moved-from registry keeps no file: it writes nothing.
  push_registry(push_registry&& other) noexcept;
  push_registry& operator=(push_registry&& other) noexcept;

  /// False, nothing kept, when the user has the most subscriptions already
  /// and this endpoint is not one of them.
  bool subscribe(const push_subscription& s);
  /// Whether the endpoint was the user's.
  bool unsubscribe(const std::string& user, const std::string& endpoint);
  /// False, nothing kept, when the user has levels in the most rooms
  /// already and not in this one.
  bool set_level(const notify_setting& n);

  const std::vector<push_subscription>& subscriptions(const std::string& user) const;
  /// The user's level in a room; empty when the user chose none there.
  std::string level(const std::string& user, const std::string& room) const;
  /// Whether any user has a subscription.
  bool any_subscription() const { return !subscriptions_.empty(); }
  /// The user's levels, in every room they chose one.
  std::vector<notify_setting> levels(const std::string& user) const;
  /// Users who chose `all` in a room.
  const std::set<std::string>& users_at_all(const std::string& room) const;

  /// Changes not written to the file yet: the owner calls save() soon (a
  /// burst of changes is one write, not one each).
  bool unsaved() const { return unsaved_; }
  /// Writes everything to the file (aside, then renamed into place), when
  /// something changed; a failed write is tried again on the next call.
  void save();

private:
  std::filesystem::path file_;
  bool unsaved_ = false;
  std::map<std::string, std::vector<push_subscription>> subscriptions_;
  std::map<std::string, std::map<std::string, std::string>> levels_; ///< user -> room -> level
  std::map<std::string, std::set<std::string>> at_all_;              ///< room -> users at `all`
};

} // namespace chatnode

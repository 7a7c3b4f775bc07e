#pragma once
// Every Redis key and channel of a room, named in one place. They all carry
// the hash tag {room}, so a room's keys and its channel share one cluster
// slot and every script touches one shard.

#include <string>

namespace chatnode {

class redis_keys {
public:
  explicit redis_keys(std::string prefix)
    : prefix_(std::move(prefix)) {}

  std::string log(const std::string& room) const { return of(room, "log"); }   ///< the stream
  std::string cids(const std::string& room) const { return of(room, "cids"); } ///< retry ids
  std::string watermark(const std::string& room) const {
    return of(room, "durable");
  }                                                                                  ///< newest replicated id
  std::string members(const std::string& room) const { return of(room, "members"); } ///< presence
  std::string names(const std::string& room) const { return of(room, "names"); } ///< presence: name -> fields
  std::string states(const std::string& room) const { return of(room, "states"); } ///< changed messages
  /// A root's thread messages: this and the root's id (see thread_helpers.lua).
  std::string thread_prefix(const std::string& room) const { return of(room, "thread:"); }
  std::string reads(const std::string& room) const { return of(room, "read"); }    ///< read positions
  std::string numbered(const std::string& room) const { return of(room, "msgs"); } ///< messages stored
  std::string bans(const std::string& room) const { return of(room, "bans"); }     ///< user -> until
  std::string mutes(const std::string& room) const { return of(room, "mutes"); }   ///< user -> until
  std::string parties(const std::string& room) const {
    return of(room, "parties");
  } ///< a direct conversation's users
  std::string presence_version(const std::string& room) const { return of(room, "pver"); }
  std::string archived(const std::string& room) const { return of(room, "archived"); } ///< the archive's mark
  /// (1.2) The webhooks' cursor and lease (hook_claim.lua).
  std::string hook(const std::string& room) const { return of(room, "hook"); }
  std::string nodes(const std::string& room) const { return of(room, "nodes"); }  ///< node liveness
  std::string channel(const std::string& room) const { return of(room, "live"); } ///< pub/sub
  /// The room directory (one key, on one shard).
  std::string directory() const { return prefix_ + "{directory}"; }
  /// (1.2) A room's files sent in messages: file id -> the message's entry id.
  std::string file_claims(const std::string& room) const { return of(room, "files"); }
  /// (1.2) The secret that seals upload tickets, the same for every node.
  std::string upload_secret() const { return prefix_ + "{files}:secret"; }
  /// (1.2) The deployment's VAPID private key (PEM), the first node's.
  std::string push_key() const { return prefix_ + "{push}:vapid"; }
  /// (1.2) A user's push subscriptions: endpoint -> "p256dh auth".
  std::string push_subscriptions(const std::string& user) const {
    return prefix_ + "{push:" + user + "}:subs";
  }
  /// (1.2) A user's notification levels: room -> level.
  std::string notify_levels(const std::string& user) const { return prefix_ + "{push:" + user + "}:levels"; }
  /// (1.2) Users' notification levels in a room (user -> level), and those at `all`.
  std::string room_levels(const std::string& room) const { return of(room, "notify"); }
  std::string room_at_all(const std::string& room) const { return of(room, "notify_all"); }
  /// (1.2) Pushes pending and claimed (key -> JSON), when each is due, and
  /// the claims' numbering: one slot every node's pusher asks.
  std::string push_jobs() const { return prefix_ + "{push}:jobs"; }
  std::string push_due() const { return prefix_ + "{push}:due"; }
  std::string push_sequence() const { return prefix_ + "{push}:seq"; }
  /// (1.2) Set once anyone subscribed to pushes: until then no node asks
  /// for push decisions.
  std::string push_anyone() const { return prefix_ + "{push}:any"; }
  /// (1.2) Bytes a user announced for upload on a day (days since the epoch).
  std::string upload_quota(const std::string& user, long long day) const {
    return prefix_ + "{quota:" + user + "}:" + std::to_string(day);
  }
  /// (1.2) The preview cache's entry of a link (by its digest).
  std::string preview(const std::string& digest) const { return prefix_ + "{preview:" + digest + "}"; }
  /// Notices for users wherever they are connected (every node listens).
  std::string people_channel() const { return prefix_ + "{people}:live"; }
  /// A user's direct conversations: room -> the other user.
  std::string conversations(const std::string& user) const { return prefix_ + "{dms:" + user + "}"; }

private:
  std::string of(const std::string& room, const char* suffix) const {
    return prefix_ + "{" + room + "}:" + suffix;
  }

  std::string prefix_;
};

} // namespace chatnode

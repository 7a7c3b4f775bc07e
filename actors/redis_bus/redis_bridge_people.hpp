#pragma once
// The Redis bridge's people: who may enter a room (bans, direct
// conversations), moderation actions stored in the room's order, direct
// conversations, and notices for users wherever they are connected (the
// people channel every node listens to).

#include "actors/redis_bus/redis_bridge_feed.hpp"
#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_messages.hpp"

#include <string>
#include <tuple>

namespace chatnode::bridge {

using admission_promise = caf::typed_response_promise<admission>;
using room_promise = caf::typed_response_promise<std::string>;

class people_service {
public:
  people_service(bridge_core& core, redis_calls& calls, message_store& messages, entry_feed& feed)
    : core_(core),
      calls_(calls),
      messages_(messages),
      feed_(feed) {}

  /// This node's hub, for notices to users whatever rooms they are in.
  void set_notice_hub(const hub_actor& hub) { notice_hub_ = hub; }
  /// A payload on the people channel: "n<user>\n<frame>" for a user's
  /// sessions, "x<user>\n" to close them.
  void on_notice(const std::string& payload);

  auto handlers() {
    return std::make_tuple(
      [this](admit_atom, const admit_request& req) -> caf::result<admission> { return admit(req); },
      [this](moderate_atom, const moderation_request& req) -> caf::result<store_result> {
        return moderate(req);
      },
      [this](dm_atom, const dm_request& req) -> caf::result<std::string> { return open_dm(req); },
      [this](dms_atom, const std::string& user) -> caf::result<conversation_list> {
        return list_conversations(user);
      },
      [this](disconnect_atom, const std::string& user) {
        // Closes a user's connections on every node.
        calls_.send_and_forget({core_.publish_command(), core_.keys.people_channel(), "x" + user + "\n"});
      });
  }

private:
  caf::result<admission> admit(const admit_request& req);
  redis_call admit_call(const admit_request& req) const;
  /// What admit.lua answered; an error (the room's shard failing over, the
  /// link reconnecting) is asked again until the join's deadline, as a
  /// join's snapshot waits for Redis.
  void on_admission(const admit_request& req, clock::time_point deadline, const redis_reply& r,
                    admission_promise promise);
  caf::result<store_result> moderate(const moderation_request& req);
  void on_moderated(const std::string& room, const redis_reply& r, store_promise promise);
  caf::result<std::string> open_dm(const dm_request& req);
  void count_conversations(const dm_request& req, const std::string& room, room_promise promise);
  void create_dm(const dm_request& req, const std::string& room, room_promise promise);
  caf::result<conversation_list> list_conversations(const std::string& user);

  bridge_core& core_;
  redis_calls& calls_;
  message_store& messages_;
  entry_feed& feed_;
  hub_actor notice_hub_;
};

} // namespace chatnode::bridge

#pragma once
// The Redis bridge's rooms: a room's channel subscribed while the room has
// local members, each room's messages handed to its hub once and in stream
// order, and what the channel did not bring read back from the stream (a
// link lost, a slot moved, or, when messages are published once replicated,
// one published ahead of an earlier one).

#include "actors/redis_bus/redis_bridge_feed.hpp"
#include "actors/redis_bus/redis_bridge_calls.hpp"
#include "actors/redis_bus/redis_bridge_messages.hpp"
#include "actors/redis_bus/redis_bridge_presence.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace chatnode::bridge {

/// A join's query, waiting for its room's subscription.
struct waiting_query {
  recent_query query;
  snapshot_promise promise;
  clock::time_point since;
};

/// A message that came by the channel while it could not be handed on yet.
struct held_message {
  stored_message message;
  /// The entry before it in the stream, when replicated publishing says so.
  std::optional<message_id> previous;
};

/// A room this node has local members in.
struct room_link {
  hub_actor hub;
  bool subscribed = false;    ///< SUBSCRIBE confirmed on the current link
  bool needs_catch_up = true; ///< the stream may hold what the channel did not bring
  bool catching_up = false;
  /// Read the stream at least this far: a published message whose
  /// predecessors this node has not seen (replicated publishing).
  std::optional<message_id> catch_up_to;
  std::optional<message_id> last; ///< newest message handed to the hub
  std::vector<held_message> held; ///< live messages that came during a catch-up
  std::vector<waiting_query> waiting;
  bool subscribed_before = false;
  bool resync_due = false; ///< presence may have been lost; tell the hub once Redis answers
  /// A catch-up that failed is tried again after this long (doubling while
  /// it fails); whether that retry is set.
  std::chrono::milliseconds retry_delay{0};
  bool retry_set = false;
};

class room_links {
public:
  room_links(bridge_core& core, redis_calls& calls, message_store& messages, entry_feed& feed,
             presence_sync& presence)
    : core_(core),
      calls_(calls),
      messages_(messages),
      feed_(feed),
      presence_(presence) {}

  /// A hub wants a room's events.
  void subscribe(const std::string& room, const hub_actor& hub);
  /// A payload on a room's channel: a message or change, a typing notice, a
  /// presence event, a kick or a read position.
  void on_published(const std::string& channel, std::string payload);
  /// Reads the streams of the rooms that may have missed messages.
  void catch_up_all();
  /// The subscriber link is down: every room reads its stream once it is back.
  void lose_subscriptions();
  /// The command link is down: joins waiting for a subscription fail now
  /// rather than wait for a link that is down.
  void fail_waiting();
  /// Joins that waited too long for their room's subscription fail.
  void expire_waiting();
  /// A room's presence events may have been lost: its hub is told once Redis answers.
  void resync(const std::string& room);
  /// Asks the hubs of rooms whose presence events may have been lost to
  /// compare what their members were told with Redis, once Redis can answer.
  void send_resyncs();

  auto handlers() {
    return std::make_tuple(
      [this](unsubscribe_atom, const std::string& room, const hub_actor&) { unsubscribe(room); },
      [this](recent_atom, recent_query& query) -> caf::result<room_snapshot> { return recent(query); },
      [this](channel_atom, const std::string& channel) { on_subscribed(channel); },
      [this](unsubscribed_atom, const std::string& channel) {
        // Dropped alone (a cluster slot moved, or its master's link fell):
        // what the channel carried meanwhile is read back once it is back.
        if (auto* r = link_of_channel(channel))
          lose_subscription(*r);
      },
      [this](typing_atom, const std::string& room, const std::string& user, const std::string& session) {
        if (calls_.command_up())
          calls_.send_and_forget(
            {core_.publish_command(), core_.keys.channel(room), "t" + session + "\n" + user});
      });
  }

private:
  void unsubscribe(const std::string& room);
  caf::result<room_snapshot> recent(recent_query& query);
  void on_subscribed(const std::string& channel);
  /// The room's link; none once the room was left (a reply may come after).
  room_link* find(const std::string& room);
  const std::string* room_of_channel(const std::string& channel) const;
  room_link* link_of_channel(const std::string& channel);
  static void lose_subscription(room_link& r);

  /// Reads from the stream what came after the last message handed to the
  /// hub; live messages wait meanwhile. Retried when it cannot run now.
  void catch_up(const std::string& room);
  void first_catch_up(const std::string& room);
  void on_caught_up(const std::string& room, const redis_reply& reply);
  void finish_catch_up(const std::string& room);
  /// Hands the held messages on in id order, or holds them until the stream is read.
  void release_held(const std::string& room, room_link& r);
  void catch_up_failed(const std::string& room);
  /// Hands a message to the hub unless it already has it.
  void deliver_new(const std::string& room, room_link& r, stored_message msg);
  void on_message(const std::string& room, room_link& r, char kind, std::string_view head, std::string frame);
  /// A read position from the channel: `head` is "<id> <unread>".
  void on_read(room_link& r, const std::string& room, std::string_view head, std::string user);
  /// (1.2) A follower's read position in a thread moved: their sessions here hear it.
  void on_thread_read(room_link& r, const std::string& room, std::string_view head, std::string user);

  bridge_core& core_;
  redis_calls& calls_;
  message_store& messages_;
  entry_feed& feed_;
  presence_sync& presence_;
  std::unordered_map<std::string, room_link> rooms_;
  std::unordered_map<std::string, std::string> channel_rooms_; ///< channel -> room
};

} // namespace chatnode::bridge

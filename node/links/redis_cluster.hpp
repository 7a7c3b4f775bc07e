#pragma once
// Redis Cluster for the bridge: two redis_ports that look like one Redis.
// Commands go to the master that owns their key's slot (one pipelined
// connection per master), following MOVED and ASK; shard channels are
// subscribed with SSUBSCRIBE on their slot's master (one subscriber
// connection per master). The slot map comes from CLUSTER SLOTS, asked again
// every few seconds, after a redirection, and when a link drops, so a
// resharding or a failover is followed. A channel whose master changed or
// whose link dropped is reported unsubscribed, and subscribed again once its
// master confirms it: the bridge then reads back from the stream.

#include "actors/redis_bus/cluster_slots.hpp"
#include "actors/redis_bus/redis_port.hpp"
#include "node/process/metrics.hpp"
#include "node/links/redis_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace chatnode {

class redis_shard_subscriber;

/// Parses redis://[[user]:password@]host:port[,host:port...]: the seeds of a
/// cluster, sharing one set of credentials; or says why it is malformed.
result<std::vector<redis_endpoint>> parse_redis_seeds(const std::string& url);

class redis_cluster : public std::enable_shared_from_this<redis_cluster> {
public:
  /// `command_events.up` once a slot map is known and a master answers,
  /// `down` when no master does; `subscriber_events` carry every channel's
  /// subscription and its messages.
  redis_cluster(boost::asio::io_context& ioc, std::vector<redis_endpoint> seeds, redis_events command_events,
                redis_events subscriber_events, redis_connection::timing t);

  void start();
  void stop();
  /// Scripts every master's command link loads at each connect (see
  /// redis_connection::preload). Call before start().
  void preload(std::vector<std::string> scripts) { preload_ = std::move(scripts); }
  std::shared_ptr<redis_port> commands();
  std::shared_ptr<redis_port> subscriber();
  /// Each master of the slot map and whether its command link is up; safe
  /// from any thread.
  std::vector<shard_state> shards() const;

private:
  struct link {
    redis_endpoint endpoint;
    std::shared_ptr<redis_connection> commands;
    std::shared_ptr<redis_shard_subscriber> subscriber; ///< made when a channel first needs it
    bool commands_up = false;
  };
  class command_port;
  class subscriber_port;
  /// A write answered only once it reached this many replicas (WAIT).
  struct replication {
    int replicas = 0; ///< 0: answered as soon as it ran
    std::chrono::milliseconds timeout{0};
  };

  link& link_to(const node_address& address);
  void route(std::vector<std::string> args, redis_callback done, int redirects, replication r);
  /// Sends on one master's connection, with WAIT when `r` asks for it.
  void send(link& l, std::vector<std::string> args, redis_callback done, int redirects, replication r);
  /// `done`, unless the reply is MOVED or ASK: then the command goes where it says.
  redis_callback following_redirects(std::vector<std::string> args, redis_callback done, int redirects,
                                     replication r);
  void on_reply(std::vector<std::string> args, redis_callback done, int redirects, replication r,
                redis_reply reply);
  void broadcast(std::vector<std::string> args, redis_callback done);
  void refresh();
  void on_slots(redis_reply reply);
  void place_channels();
  void report_commands();
  void want(std::vector<std::string> channels);
  void unwant(std::vector<std::string> channels);
  void on_unsubscribed(const std::string& address, const std::string& channel);
  void on_subscriber_down(const std::string& address);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::io_context& ioc_;
  std::vector<redis_endpoint> seeds_;
  redis_events command_events_;
  redis_events subscriber_events_;
  redis_connection::timing timing_;
  std::vector<std::string> preload_;
  std::map<std::string, link> links_; ///< by "host:port"
  slot_map slots_;
  bool have_slots_ = false;
  bool refreshing_ = false;
  bool refresh_again_ = false;
  bool reported_up_ = false;
  bool stopped_ = false;
  std::set<std::string> wanted_;              ///< channels the bridge wants
  std::map<std::string, std::string> placed_; ///< channel -> master it is subscribed on
  boost::asio::steady_timer refresh_timer_;
  mutable std::mutex shards_mutex_;
  std::vector<shard_state> shards_; ///< what shards() reads, kept by report_commands
};

} // namespace chatnode

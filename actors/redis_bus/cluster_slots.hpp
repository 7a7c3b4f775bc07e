#pragma once
// Redis Cluster's key space: the slot a key or shard channel hashes to, which
// master serves each slot (from CLUSTER SLOTS), the redirections a node
// answers with (MOVED, ASK), and the key a command is routed by. No network
// code: node/redis_cluster drives the connections.

#include "actors/redis_bus/redis_port.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

inline constexpr std::size_t cluster_slots = 16384;

/// CRC16 (XMODEM) of the key's hash tag, the text between its first '{' and
/// the next '}' when that is not empty, else of the whole key; mod 16384.
std::uint16_t key_slot(std::string_view key);

struct node_address {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  bool operator==(const node_address&) const = default;
};

/// A range of slots and the nodes that serve it.
struct cluster_shard {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  node_address master;
  std::vector<node_address> replicas;
};

/// The shards of a CLUSTER SLOTS reply; empty when the reply is not one.
std::vector<cluster_shard> parse_cluster_slots(const redis_reply& reply);

/// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct cluster_redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  node_address to;
};
std::optional<cluster_redirect> parse_redirect(std::string_view error);

/// The key a command is routed by; none for commands that name no key
/// (SCRIPT LOAD, PING), which any master can run.
std::optional<std::string_view> routing_key(const std::vector<std::string>& args);

/// Which master serves each slot, by index into `masters`.
class slot_map {
public:
  slot_map() { owner_.fill(none); }
  /// Replaces the whole map with `shards`.
  void assign(const std::vector<cluster_shard>& shards);
  /// One slot now served by `master` (after a MOVED).
  void move(std::uint16_t slot, const node_address& master);
  /// The master of a slot, if known.
  const node_address* master_of(std::uint16_t slot) const;
  const std::vector<node_address>& masters() const { return masters_; }
  bool empty() const { return masters_.empty(); }

private:
  static constexpr std::uint16_t none = 0xffff;
  std::uint16_t index_of(const node_address& master);
  std::array<std::uint16_t, cluster_slots> owner_{};
  std::vector<node_address> masters_;
};

} // namespace chatnode

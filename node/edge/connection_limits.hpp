#pragma once
// Connections per client address: one address may hold at most so many TCP
// connections at once (HTTP and WebSocket alike), so a single host cannot
// use up the node's connections or descriptors. A slot is taken at accept
// and given back when the connection ends, whichever session holds it then.

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace chatnode {

class address_limits;

/// One connection's place in the count; move-only, released on destruction.
class connection_slot {
public:
  connection_slot() = default;
  connection_slot(address_limits* owner, boost::asio::ip::address address)
    : owner_(owner),
      address_(address) {}
  connection_slot(connection_slot&& other) noexcept { *this = std::move(other); }
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() { release(); }

private:
  void release();

  address_limits* owner_ = nullptr;
  boost::asio::ip::address address_;
};

class address_limits {
public:
  /// At most `per_address` connections from one address; 0 = no limit.
  void set_limit(std::size_t per_address) { limit_ = per_address; }

  /// A slot for a new connection from `address`, or nothing when it holds
  /// the most it may already.
  std::optional<connection_slot> acquire(boost::asio::ip::address address);

  /// Connections now held by `address`.
  std::size_t held(boost::asio::ip::address address) const;

private:
  friend class connection_slot;
  void release(const boost::asio::ip::address& address);

  std::size_t limit_ = 0;
  mutable std::mutex mutex_;
  std::unordered_map<boost::asio::ip::address, std::size_t> held_;
};

} // namespace chatnode

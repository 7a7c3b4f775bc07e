#include "node/edge/connection_limits.hpp"

namespace chatnode {

namespace {

/// An IPv4 client seen through a dual-stack socket counts as itself.
boost::asio::ip::address normalized(boost::asio::ip::address address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  return address;
}

} // namespace

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    address_ = other.address_;
    other.owner_ = nullptr;
  }
  return *this;
}

void connection_slot::release() {
  if (owner_ != nullptr)
    owner_->release(address_);
  owner_ = nullptr;
}

std::optional<connection_slot> address_limits::acquire(boost::asio::ip::address address) {
  if (limit_ == 0)
    return connection_slot{};
  address = normalized(address);
  std::lock_guard guard{mutex_};
  auto& count = held_[address];
  if (count >= limit_)
    return std::nullopt;
  ++count;
  return connection_slot{this, address};
}

std::size_t address_limits::held(boost::asio::ip::address address) const {
  std::lock_guard guard{mutex_};
  auto it = held_.find(normalized(address));
  return it == held_.end() ? 0 : it->second;
}

void address_limits::release(const boost::asio::ip::address& address) {
  std::lock_guard guard{mutex_};
  auto it = held_.find(address);
  if (it != held_.end() && --it->second == 0)
    held_.erase(it);
}

} // namespace chatnode

#pragma once
// The private networks an operator lets the node's fetcher reach although
// they are private (`[previews] allow_private`: an intranet whose pages are
// previewed, or a test's server on loopback). Only ranges address_policy.hpp
// calls private can be allowed: link-local, the metadata address and the
// other always-refused ranges stay refused whatever is listed.

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <string>
#include <vector>

namespace chatnode {

class allowed_networks {
public:
  /// None: every private address is refused.
  allowed_networks() = default;
  /// Every private network (loopback, RFC 1918, CGNAT, unique local).
  static allowed_networks all_private();
  /// Parses networks in CIDR form ("127.0.0.0/8", "fd00::/8"); a bare
  /// address is its own /32 or /128. Empty `error` on success, else what
  /// was wrong with the first one that is not a network.
  static allowed_networks parse(const std::vector<std::string>& cidrs, std::string& error);

  /// Whether `address` (an IPv4-mapped IPv6 one as its IPv4) lies in one.
  bool contains(const boost::asio::ip::address& address) const;
  bool empty() const { return !all_ && v4_.empty() && v6_.empty(); }

private:
  bool all_ = false;
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

} // namespace chatnode

#pragma once
// Which addresses the node may connect to when it fetches a URL that someone
// else chose (a link's preview, its image, a push service, a webhook, a key
// set). A name is resolved once, every address it gives is checked here,
// and the connection goes to a checked address: no second lookup that an
// attacker's DNS could answer differently.
//
// Refused unless the operator allows private networks: loopback, private
// (RFC 1918, unique local) and carrier-grade NAT (100.64/10). Refused
// always: link-local (with 169.254.169.254, the cloud metadata address: no
// intranet page lives there), unspecified, multicast, broadcast,
// documentation, benchmarking and other reserved ranges. The IPv6 forms
// that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are checked
// as the IPv4 address they carry.

#include "node/fetch/allowed_networks.hpp"

#include <boost/asio/ip/address.hpp>

#include <string_view>

namespace chatnode {

/// Why an address is refused; empty when the node may connect to it.
/// Loopback, private and shared (CGNAT) addresses in `allowed` are allowed
/// (a deployment that previews its own intranet, or a test's stand-in on
/// loopback).
std::string_view refused_address(const boost::asio::ip::address& address, const allowed_networks& allowed);
/// The same with every private network allowed, or none.
std::string_view refused_address(const boost::asio::ip::address& address, bool allow_private = false);

} // namespace chatnode

#include "node/fetch/allowed_networks.hpp"

#include <algorithm>

namespace chatnode {

namespace net = boost::asio::ip;

allowed_networks allowed_networks::all_private() {
  allowed_networks out;
  out.all_ = true;
  return out;
}

allowed_networks allowed_networks::parse(const std::vector<std::string>& cidrs, std::string& error) {
  allowed_networks out;
  error.clear();
  for (const auto& text : cidrs) {
    boost::system::error_code ec;
    auto slash = text.find('/');
    auto address = net::make_address(text.substr(0, slash), ec);
    if (!ec) {
      if (address.is_v4())
        out.v4_.push_back(slash == std::string::npos ? net::network_v4{address.to_v4(), 32}
                                                     : net::make_network_v4(text, ec));
      else
        out.v6_.push_back(slash == std::string::npos ? net::network_v6{address.to_v6(), 128}
                                                     : net::make_network_v6(text, ec));
    }
    if (ec) {
      error = "\"" + text + "\" is not a network in CIDR form (such as 10.1.0.0/16 or fd00::/8)";
      return {};
    }
  }
  return out;
}

bool allowed_networks::contains(const net::address& address) const {
  if (all_)
    return true;
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return contains(net::make_address_v4(net::v4_mapped, address.to_v6()));
  if (address.is_v4()) {
    auto a = address.to_v4();
    return std::any_of(v4_.begin(), v4_.end(), [&](const net::network_v4& n) {
      return (a.to_uint() & n.netmask().to_uint()) == n.network().to_uint();
    });
  }
  auto bytes = address.to_v6().to_bytes();
  return std::any_of(v6_.begin(), v6_.end(), [&](const net::network_v6& n) {
    auto prefix = n.network().to_bytes();
    unsigned bits = n.prefix_length();
    for (unsigned i = 0; i < 16 && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
      auto mask = static_cast<unsigned char>(bits >= 8 ? 0xff : 0xff << (8 - bits));
      if ((bytes[i] & mask) != (prefix[i] & mask))
        return false;
    }
    return true;
  });
}

} // namespace chatnode

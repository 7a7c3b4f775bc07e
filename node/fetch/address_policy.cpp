#include "node/fetch/address_policy.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>

namespace chatnode {

namespace {

/// A range of addresses: its first bytes (network order), its prefix length,
/// why it is refused, and whether allowing private networks lets it through.
template <std::size_t N>
struct range {
  std::array<std::uint8_t, N> prefix;
  unsigned bits;
  std::string_view why;
  bool is_private;
};

template <std::size_t N>
bool in(const std::array<std::uint8_t, N>& bytes, const range<N>& r) {
  unsigned full = r.bits / 8, rest = r.bits % 8;
  for (unsigned i = 0; i < full; ++i)
    if (bytes[i] != r.prefix[i])
      return false;
  if (rest == 0)
    return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (r.prefix[full] & mask);
}

constexpr std::array<range<4>, 16> v4_ranges{{
  {{0, 0, 0, 0}, 8, "unspecified (0.0.0.0/8)", false},
  {{10, 0, 0, 0}, 8, "private (10/8)", true},
  {{100, 64, 0, 0}, 10, "carrier-grade NAT (100.64/10)", true},
  {{127, 0, 0, 0}, 8, "loopback (127/8)", true},
  {{169, 254, 0, 0}, 16, "link-local (169.254/16, cloud metadata)", false},
  {{172, 16, 0, 0}, 12, "private (172.16/12)", true},
  {{192, 0, 0, 0}, 24, "reserved (192.0.0/24)", false},
  {{192, 0, 2, 0}, 24, "documentation (192.0.2/24)", false},
  {{192, 88, 99, 0}, 24, "reserved (192.88.99/24, 6to4 relay)", false},
  {{192, 168, 0, 0}, 16, "private (192.168/16)", true},
  {{198, 18, 0, 0}, 15, "benchmarking (198.18/15)", false},
  {{198, 51, 100, 0}, 24, "documentation (198.51.100/24)", false},
  {{203, 0, 113, 0}, 24, "documentation (203.0.113/24)", false},
  {{224, 0, 0, 0}, 4, "multicast (224/4)", false},
  {{240, 0, 0, 0}, 4, "reserved (240/4, broadcast)", false},
  {{255, 255, 255, 255}, 32, "broadcast", false},
}};

using v6_bytes = std::array<std::uint8_t, 16>;
constexpr v6_bytes v6(std::initializer_list<std::uint8_t> head) {
  v6_bytes out{};
  std::size_t i = 0;
  for (auto b : head)
    out[i++] = b;
  return out;
}

constexpr std::array<range<16>, 9> v6_ranges{{
  {v6({}), 128, "unspecified (::)", false},
  {v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 128, "loopback (::1)", true},
  {v6({0x01, 0x00}), 64, "discard (100::/64)", false},
  {v6({0x20, 0x01, 0x00, 0x00}), 32, "Teredo (2001::/32)", false},
  {v6({0x20, 0x01, 0x0d, 0xb8}), 32, "documentation (2001:db8::/32)", false},
  {v6({0xfc}), 7, "unique local (fc00::/7)", true},
  {v6({0xfe, 0x80}), 10, "link-local (fe80::/10)", false},
  {v6({0xfe, 0xc0}), 10, "site-local (fec0::/10)", true},
  {v6({0xff}), 8, "multicast (ff00::/8)", false},
}};

std::string_view refused_v4(const boost::asio::ip::address_v4& address, const allowed_networks& allowed) {
  auto bytes = address.to_bytes();
  for (const auto& r : v4_ranges)
    if (in(bytes, r) && !(r.is_private && allowed.contains(boost::asio::ip::address{address})))
      return r.why;
  return {};
}

/// The IPv4 address an IPv6 one carries: mapped (::ffff:0:0/96), compatible
/// (::/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16, bits 16 to 48).
std::optional<boost::asio::ip::address_v4> carried_v4(const v6_bytes& b) {
  auto last4 = [&b](std::size_t at) {
    return boost::asio::ip::address_v4{{b[at], b[at + 1], b[at + 2], b[at + 3]}};
  };
  bool zero80 = true;
  for (std::size_t i = 0; i < 10; ++i)
    zero80 = zero80 && b[i] == 0;
  if (zero80 && b[10] == 0xff && b[11] == 0xff)
    return last4(12);
  if (zero80 && b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1))
    return last4(12); // compatible; :: and ::1 are their own ranges
  const v6_bytes nat64 = v6({0x00, 0x64, 0xff, 0x9b});
  if (std::equal(b.begin(), b.begin() + 12, nat64.begin()))
    return last4(12);
  if (b[0] == 0x20 && b[1] == 0x02)
    return last4(2);
  return std::nullopt;
}

} // namespace

std::string_view refused_address(const boost::asio::ip::address& address, const allowed_networks& allowed) {
  if (address.is_v4())
    return refused_v4(address.to_v4(), allowed);
  auto bytes = address.to_v6().to_bytes();
  for (const auto& r : v6_ranges)
    if (in(bytes, r) && !(r.is_private && allowed.contains(address)))
      return r.why;
  if (auto v4 = carried_v4(bytes)) {
    auto why = refused_v4(*v4, allowed);
    if (!why.empty())
      return why; // the IPv4 address it carries is refused
  }
  return {};
}

std::string_view refused_address(const boost::asio::ip::address& address, bool allow_private) {
  return refused_address(address, allow_private ? allowed_networks::all_private() : allowed_networks{});
}

} // namespace chatnode

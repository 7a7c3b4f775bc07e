#include "actors/redis_bus/cluster_slots.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace chatnode {

namespace {

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

template <class Int>
std::optional<Int> to_number(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

/// "host:port", the host possibly an IPv6 address.
std::optional<node_address> parse_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  auto port = to_number<int>(text.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535)
    return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return node_address{std::string{host}, *port};
}

std::optional<node_address> node_of(const redis_reply& entry) {
  if (entry.type != redis_reply::kind::array || entry.elements.size() < 2 ||
      entry.elements[0].type != redis_reply::kind::string ||
      entry.elements[1].type != redis_reply::kind::integer)
    return std::nullopt;
  auto port = entry.elements[1].integer;
  if (entry.elements[0].str.empty() || port < 1 || port > 65535)
    return std::nullopt;
  return node_address{entry.elements[0].str, static_cast<int>(port)};
}

} // namespace

std::uint16_t key_slot(std::string_view key) {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) % cluster_slots);
}

std::vector<cluster_shard> parse_cluster_slots(const redis_reply& reply) {
  std::vector<cluster_shard> shards;
  if (reply.type != redis_reply::kind::array)
    return shards;
  for (const auto& range : reply.elements) {
    if (range.type != redis_reply::kind::array || range.elements.size() < 3)
      return {};
    const auto& first = range.elements[0];
    const auto& last = range.elements[1];
    if (first.type != redis_reply::kind::integer || last.type != redis_reply::kind::integer ||
        first.integer < 0 || last.integer < first.integer ||
        last.integer >= static_cast<long long>(cluster_slots))
      return {};
    auto master = node_of(range.elements[2]);
    if (!master)
      return {};
    cluster_shard shard{static_cast<std::uint16_t>(first.integer),
                        static_cast<std::uint16_t>(last.integer),
                        std::move(*master),
                        {}};
    for (std::size_t i = 3; i < range.elements.size(); ++i)
      if (auto replica = node_of(range.elements[i]))
        shard.replicas.push_back(std::move(*replica));
    shards.push_back(std::move(shard));
  }
  return shards;
}

std::optional<cluster_redirect> parse_redirect(std::string_view error) {
  cluster_redirect out;
  if (error.starts_with("MOVED "))
    error.remove_prefix(6);
  else if (error.starts_with("ASK "))
    error.remove_prefix(4), out.ask = true;
  else
    return std::nullopt;
  auto space = error.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto slot = to_number<unsigned>(error.substr(0, space));
  auto to = parse_address(error.substr(space + 1));
  if (!slot || *slot >= cluster_slots || !to)
    return std::nullopt;
  out.slot = static_cast<std::uint16_t>(*slot);
  out.to = std::move(*to);
  return out;
}

std::optional<std::string_view> routing_key(const std::vector<std::string>& args) {
  if (args.empty())
    return std::nullopt;
  // Called for every command: compared in place, nothing copied.
  auto is = [&](std::string_view name) {
    const auto& first = args[0];
    return first.size() == name.size() &&
           std::equal(first.begin(), first.end(), name.begin(),
                      [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; });
  };
  if (is("EVALSHA") || is("EVAL") || is("EVALSHA_RO") || is("EVAL_RO")) {
    // EVAL script numkeys key...: the first key.
    if (args.size() > 3 && args[2] != "0")
      return args[3];
    return std::nullopt;
  }
  if (is("SCRIPT") || is("PING") || is("CLUSTER") || is("INFO") || is("ASKING"))
    return std::nullopt;
  // Every other command this node sends names its key (or shard channel) first.
  if (args.size() > 1)
    return args[1];
  return std::nullopt;
}

std::uint16_t slot_map::index_of(const node_address& master) {
  auto it = std::find(masters_.begin(), masters_.end(), master);
  if (it != masters_.end())
    return static_cast<std::uint16_t>(it - masters_.begin());
  masters_.push_back(master);
  return static_cast<std::uint16_t>(masters_.size() - 1);
}

void slot_map::assign(const std::vector<cluster_shard>& shards) {
  owner_.fill(none);
  masters_.clear();
  for (const auto& shard : shards) {
    auto index = index_of(shard.master);
    std::fill(owner_.begin() + shard.first, owner_.begin() + shard.last + 1, index);
  }
}

void slot_map::move(std::uint16_t slot, const node_address& master) {
  owner_[slot] = index_of(master);
}

const node_address* slot_map::master_of(std::uint16_t slot) const {
  auto index = owner_[slot];
  return index == none ? nullptr : &masters_[index];
}

} // namespace chatnode

#pragma once
// The Lua scripts the Redis bridge runs. Each is one atomic step in Redis.
// Keys of one room share the hash tag {room}, so a room lives on one shard;
// its channel carries the tag too, and scripts publish with the command the
// bridge names (PUBLISH on one Redis, SPUBLISH on a cluster's shard).

namespace chatnode::redis_scripts {

/// Stores a message and publishes it, once per (user, cid). Retry ids live
/// in the room's `cids` sorted set, scored by their message's ms, and leave
/// it once older than the cid TTL or than the stream's oldest entry: memory
/// for them is bounded by the TTL and by the retention.
/// KEYS: stream, retry ids, channel
/// ARGV: user, text, cid, retention, head, middle, tail, cid ttl ms, publish command
/// Returns {"new", id, frame} or {"dup", id, {field, value, ...}}.
inline constexpr const char* store = R"lua(
local user, cid = ARGV[1], ARGV[3]
local member = #user .. ':' .. user .. cid
if cid ~= '' then
  local ms = redis.call('ZSCORE', KEYS[2], member)
  if ms then
    for _, e in ipairs(redis.call('XRANGE', KEYS[1], ms, ms)) do
      local f = {}
      for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
      if f.u == user and f.c == cid then return {'dup', e[1], e[2]} end
    end
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'u', user, 't', ARGV[2], 'c', cid)
local ms = tonumber(string.match(id, '^(%d+)'))
if cid ~= '' then
  local ttl = tonumber(ARGV[8])
  local cutoff = ms - ttl
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #oldest > 0 then cutoff = math.max(cutoff, tonumber(string.match(oldest[1][1], '^(%d+)'))) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff)
  redis.call('ZADD', KEYS[2], ms, member)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local frame = ARGV[5] .. id .. ARGV[6] .. ms .. ARGV[7]
redis.call(ARGV[9], KEYS[3], 'm' .. id .. '\n' .. frame)
return {'new', id, frame}
)lua";

// Presence. A room's `members` hash has a field "<node>\n<name>" for each
// name a node has in the room, valued with the incarnation of the node's
// process that wrote it. Its `nodes` hash holds, for each node with members
// there, "<incarnation> <expiry ms>" on Redis's clock, renewed by that node's
// heartbeat. A member is live while its node's entry names the same
// incarnation and has not expired: a node killed and started again under its
// old name writes a new incarnation, so what its earlier life left is dead at
// once. Everything a script touches is the room's, on the room's slot.

/// The Lua helpers the presence scripts share: Redis's time in ms, and which
/// nodes of a room are live.
#define CHATNODE_PRESENCE_LUA_HELPERS \
  "local function now_ms() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end\n" \
  "local function live_nodes(nodes_key, now)\n" \
  "  local live, entries = {}, redis.call('HGETALL', nodes_key)\n" \
  "  for i = 1, #entries, 2 do\n" \
  "    local inc, expiry = string.match(entries[i + 1], '^(%S+) (%d+)$')\n" \
  "    if inc and tonumber(expiry) >= now then live[entries[i]] = inc end\n" \
  "  end\n" \
  "  return live\n" \
  "end\n" \
  "local function is_live(live, field, inc)\n" \
  "  local node = string.match(field, '^(.-)\\n')\n" \
  "  return node ~= nil and live[node] == inc\n" \
  "end\n"

/// What a member entering a room needs, in one consistent read.
/// KEYS: stream, members hash, presence version, nodes hash
/// ARGV: since id ('' for none), limit
/// Returns {entries, live member fields, version, more}; entries newest first
/// without `since`, oldest first with it.
inline constexpr const char* snapshot = CHATNODE_PRESENCE_LUA_HELPERS R"lua(
local entries, more
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')
  more = #redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', 1) > 0
else
  local n = tonumber(ARGV[2])
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', n + 1)
  more = #entries > n
  if more then table.remove(entries) end
end
local live, fields, members = live_nodes(KEYS[4], now_ms()), redis.call('HGETALL', KEYS[2]), {}
for i = 1, #fields, 2 do
  if is_live(live, fields[i], fields[i + 1]) then table.insert(members, fields[i]) end
end
local version = redis.call('GET', KEYS[3]) or '0'
return {entries, members, version, more and 1 or 0}
)lua";

/// Marks a name present or absent on one node and renews the node's entry;
/// when the name appears in or vanishes from the room as a whole, publishes
/// a versioned presence event.
/// KEYS: members hash, presence version, channel, nodes hash
/// ARGV: node, name, '1' present / '0' absent, room, incarnation, ttl ms, publish command
inline constexpr const char* presence = CHATNODE_PRESENCE_LUA_HELPERS R"lua(
local now, ttl = now_ms(), tonumber(ARGV[6])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5] .. ' ' .. (now + ttl))
redis.call('PEXPIRE', KEYS[4], ttl * 3)
local field = ARGV[1] .. '\n' .. ARGV[2]
local changed
if ARGV[3] == '1' then
  -- A field left by an earlier life of this node is taken over: the name
  -- was listed all along, so nothing changes for the room.
  changed = redis.call('HSET', KEYS[1], field, ARGV[5]) == 1
else
  changed = redis.call('HDEL', KEYS[1], field) == 1
end
if not changed then return 0 end
redis.call('PEXPIRE', KEYS[1], ttl * 3)
local names, count, others = {}, 0, false
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = string.match(f, '\n(.*)$')
  if not names[n] then names[n] = true; count = count + 1 end
  if n == ARGV[2] and f ~= field then others = true end
end
if others then return 0 end
local v = redis.call('INCR', KEYS[2])
local frame = '{"type":"presence","room":' .. cjson.encode(ARGV[4]) .. ',"user":' .. cjson.encode(ARGV[2]) ..
  ',"event":"' .. (ARGV[3] == '1' and 'join' or 'leave') .. '","count":' .. count .. '}'
redis.call(ARGV[7], KEYS[3], 'p' .. v .. '\n' .. ARGV[2] .. '\n' .. frame)
return v
)lua";

/// A node's heartbeat in one room: renews its entry, removes the members of
/// nodes that are not live (expired, or another incarnation) and announces
/// the names that left with them. The room's presence keys expire when no
/// node renews them for a while.
/// KEYS: members hash, presence version, channel, nodes hash
/// ARGV: node, incarnation, ttl ms, room, publish command
/// Returns {1 if this node was live here before, members removed}.
inline constexpr const char* refresh = CHATNODE_PRESENCE_LUA_HELPERS R"lua(
local now, ttl = now_ms(), tonumber(ARGV[3])
local live = live_nodes(KEYS[4], now)
local was_live = live[ARGV[1]] == ARGV[2]
live[ARGV[1]] = ARGV[2]
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2] .. ' ' .. (now + ttl))
for _, node in ipairs(redis.call('HKEYS', KEYS[4])) do
  if not live[node] then redis.call('HDEL', KEYS[4], node) end
end
local dead, fields = {}, redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if not is_live(live, fields[i], fields[i + 1]) then table.insert(dead, fields[i]) end
end
redis.call('PEXPIRE', KEYS[1], ttl * 3)
redis.call('PEXPIRE', KEYS[4], ttl * 3)
if #dead == 0 then return {was_live and 1 or 0, 0} end
for _, f in ipairs(dead) do redis.call('HDEL', KEYS[1], f) end
local present, count = {}, 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = string.match(f, '\n(.*)$')
  if not present[n] then present[n] = true; count = count + 1 end
end
local announced = {}
for _, f in ipairs(dead) do
  local n = string.match(f, '\n(.*)$')
  if not present[n] and not announced[n] then
    announced[n] = true
    local v = redis.call('INCR', KEYS[2])
    local frame = '{"type":"presence","room":' .. cjson.encode(ARGV[4]) .. ',"user":' .. cjson.encode(n) ..
      ',"event":"leave","count":' .. count .. '}'
    redis.call(ARGV[5], KEYS[3], 'p' .. v .. '\n' .. n .. '\n' .. frame)
  end
end
return {was_live and 1 or 0, #dead}
)lua";

#undef CHATNODE_PRESENCE_LUA_HELPERS

} // namespace chatnode::redis_scripts

#pragma once
// The Lua scripts the Redis bridge runs. Each is one atomic step in Redis.
// Keys of one room share the hash tag {room}, so a room lives on one shard.

namespace chatnode::redis_scripts {

/// Stores a message and publishes it, once per (user, cid).
/// KEYS: stream, cid key (the stream again without a cid), channel
/// ARGV: user, text, cid, retention, head, middle, tail, cid ttl seconds
/// Returns {"new", id, frame} or {"dup", id, {field, value, ...}}.
inline constexpr const char* store = R"lua(
local has_cid = ARGV[3] ~= ''
if has_cid then
  local old = redis.call('GET', KEYS[2])
  if old then
    local e = redis.call('XRANGE', KEYS[1], old, old)
    if #e > 0 then return {'dup', old, e[1][2]} end
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'u', ARGV[1], 't', ARGV[2], 'c', ARGV[3])
if has_cid then redis.call('SET', KEYS[2], id, 'EX', ARGV[8]) end
local frame = ARGV[5] .. id .. ARGV[6] .. string.match(id, '^(%d+)') .. ARGV[7]
redis.call('PUBLISH', KEYS[3], 'm' .. id .. '\n' .. frame)
return {'new', id, frame}
)lua";

/// What a member entering a room needs, in one consistent read.
/// KEYS: stream, members hash, presence version
/// ARGV: since id ('' for none), limit
/// Returns {entries, member fields, version, more}; entries newest first
/// without `since`, oldest first with it.
inline constexpr const char* snapshot = R"lua(
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
local version = redis.call('GET', KEYS[3]) or '0'
return {entries, redis.call('HKEYS', KEYS[2]), version, more and 1 or 0}
)lua";

/// Marks a name present or absent on one node; when the name appears in or
/// vanishes from the room as a whole, publishes a versioned presence event.
/// KEYS: members hash, presence version, channel
/// ARGV: node, name, '1' present / '0' absent, room
inline constexpr const char* presence = R"lua(
local field = ARGV[1] .. '\n' .. ARGV[2]
local changed
if ARGV[3] == '1' then
  changed = redis.call('HSET', KEYS[1], field, 1) == 1
else
  changed = redis.call('HDEL', KEYS[1], field) == 1
end
if not changed then return 0 end
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
redis.call('PUBLISH', KEYS[3], 'p' .. v .. '\n' .. ARGV[2] .. '\n' .. frame)
return v
)lua";

/// Removes the members of nodes whose liveness key expired, and announces
/// the names that left with them.
/// KEYS: members hash, presence version, channel
/// ARGV: liveness key prefix, room
inline constexpr const char* reap = R"lua(
local alive, dead = {}, {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local node = string.match(f, '^(.-)\n')
  if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[1] .. node) == 1 end
  if not alive[node] then table.insert(dead, f) end
end
if #dead == 0 then return 0 end
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
    local frame = '{"type":"presence","room":' .. cjson.encode(ARGV[2]) .. ',"user":' .. cjson.encode(n) ..
      ',"event":"leave","count":' .. count .. '}'
    redis.call('PUBLISH', KEYS[3], 'p' .. v .. '\n' .. n .. '\n' .. frame)
  end
end
return #dead
)lua";

} // namespace chatnode::redis_scripts

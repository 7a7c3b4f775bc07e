-- A node's heartbeat in one room: renews its entry, removes the members of
-- nodes that are not live (expired, or another incarnation) and announces
-- the names that left with them. The room's presence keys expire when no
-- node renews them for a while.
-- KEYS: members hash, presence version, channel, nodes hash, names hash
-- ARGV: node, incarnation, ttl ms, publish command
-- Returns {1 if this node was live here before, members removed, and when a
-- presence event was published: its version and the members left}.
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
names_of(KEYS[1], KEYS[5])
redis.call('PEXPIRE', KEYS[1], ttl * 3)
redis.call('PEXPIRE', KEYS[4], ttl * 3)
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('PEXPIRE', KEYS[5], ttl * 3) end
if #dead == 0 then return {was_live and 1 or 0, 0} end
local gone = {}
for _, f in ipairs(dead) do
  redis.call('HDEL', KEYS[1], f)
  local n = string.match(f, '\n(.*)$')
  if name_field_removed(KEYS[5], n) then table.insert(gone, n) end
end
local count = redis.call('HLEN', KEYS[5])
local last = 0
for _, n in ipairs(gone) do
  last = redis.call('INCR', KEYS[2])
  redis.call(ARGV[4], KEYS[3], presence_event(last, false, count, n))
end
return {was_live and 1 or 0, #dead, last, count}

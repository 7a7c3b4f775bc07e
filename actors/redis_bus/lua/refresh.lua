-- A node's heartbeat in one room: renews its entry, removes the members of
-- nodes that are not live (expired, or another incarnation) and announces
-- the names that left with them. The room's presence keys expire when no
-- node renews them for a while. The members hash is read only when a node's
-- entry expired or changed incarnation since the last heartbeat (see
-- flag_for_sweep): in a quiet room a heartbeat costs the number of nodes,
-- not of members.
-- KEYS: members hash, presence version, channel, nodes hash, names hash
-- ARGV: node, incarnation, ttl ms, publish command
-- Returns {1 if this node was live here before, members removed, and when a
-- presence event was published: its version and the members left}.
local now, ttl = now_ms(), tonumber(ARGV[3])
local live, sweep, own = {}, false, nil
local entries = redis.call('HGETALL', KEYS[4])
for i = 1, #entries, 2 do
  local inc, expiry = string.match(entries[i + 1], '^(%S+) (%d+)$')
  if entries[i] == ARGV[1] then own = inc end
  if inc and tonumber(expiry) >= now then
    live[entries[i]] = inc
  else
    redis.call('HDEL', KEYS[4], entries[i])
    sweep = true
  end
end
local was_live = live[ARGV[1]] == ARGV[2]
-- No entry of ours (the hash was lost) or another life's: look too.
if own ~= ARGV[2] then sweep = true end
live[ARGV[1]] = ARGV[2]
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2] .. ' ' .. (now + ttl))
names_of(KEYS[1], KEYS[5])
redis.call('PEXPIRE', KEYS[1], ttl * 3)
redis.call('PEXPIRE', KEYS[4], ttl * 3)
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('PEXPIRE', KEYS[5], ttl * 3) end
if not sweep then return {was_live and 1 or 0, 0} end
local dead, fields = {}, redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if not is_live(live, fields[i], fields[i + 1]) then table.insert(dead, fields[i]) end
end
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

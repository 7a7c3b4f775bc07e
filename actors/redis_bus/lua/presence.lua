-- Marks a name present or absent on one node and renews the node's entry;
-- when the name appears in or vanishes from the room as a whole, publishes
-- a versioned presence event. Returns {version, members, live}: version 0
-- when nothing was published; live 1 if Redis took the node for live in
-- the room before (0: its entry expired, or Redis lost its data, and the
-- node's other names may be gone: the node must tell them again).
-- KEYS: members hash, presence version, channel, nodes hash, names hash
-- ARGV: node, name, '1' present / '0' absent, incarnation, ttl ms, publish command
local now, ttl = now_ms(), tonumber(ARGV[5])
local live = live_nodes(KEYS[4], now)[ARGV[1]] == ARGV[4] and 1 or 0
local before = redis.call('HGET', KEYS[4], ARGV[1])
if (not before or string.match(before, '^(%S+) ') ~= ARGV[4]) and redis.call('EXISTS', KEYS[1]) == 1 then
  -- Fields of this node's earlier life, if any, must go: the heartbeat looks.
  flag_for_sweep(KEYS[4])
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4] .. ' ' .. (now + ttl))
redis.call('PEXPIRE', KEYS[4], ttl * 3)
local field = ARGV[1] .. '\n' .. ARGV[2]
names_of(KEYS[1], KEYS[5])
local changed
if ARGV[3] == '1' then
  -- A field left by an earlier life of this node is taken over: the name
  -- was listed all along, so nothing changes for the room.
  changed = redis.call('HSET', KEYS[1], field, ARGV[4]) == 1
else
  changed = redis.call('HDEL', KEYS[1], field) == 1
end
if not changed then return {0, 0, live} end
redis.call('PEXPIRE', KEYS[1], ttl * 3)
local appeared_or_gone
if ARGV[3] == '1' then appeared_or_gone = name_field_added(KEYS[5], ARGV[2])
else appeared_or_gone = name_field_removed(KEYS[5], ARGV[2]) end
redis.call('PEXPIRE', KEYS[5], ttl * 3)
if not appeared_or_gone then return {0, 0, live} end
local count = redis.call('HLEN', KEYS[5])
local v = redis.call('INCR', KEYS[2])
redis.call(ARGV[6], KEYS[3], presence_event(v, ARGV[3] == '1', count, ARGV[2]))
return {v, count, live}

-- (1.2) Claims a room's webhook delivery for ARGV[2] ms, unless another
-- owner's lease still runs: one node at a time sends a room's entries, so
-- they go out in its order, and a node that died is taken over once its
-- lease ran out. The hash holds c (sent up to here), f (since when the
-- entry after c fails, wall ms), o (the lease's owner) and e (when the
-- lease ends, ms).
-- KEYS: the room's webhook hash, its stream
-- ARGV: owner, lease ms
-- Reply: {1 granted (2: taken over from a lease that ran out) or 0,
--         cursor, failing since ('0': not)}
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
hook_start(KEYS[1], KEYS[2])
local h = redis.call('HMGET', KEYS[1], 'c', 'f', 'o', 'e')
local granted = 0
if not h[3] or h[3] == ARGV[1] or tonumber(h[4] or '0') < now then
  redis.call('HSET', KEYS[1], 'o', ARGV[1], 'e', now + tonumber(ARGV[2]))
  granted = (h[3] and h[3] ~= ARGV[1]) and 2 or 1
end
return {granted, h[1], h[2] or '0'}

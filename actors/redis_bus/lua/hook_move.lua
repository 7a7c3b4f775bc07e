-- (1.2) The lease holder of a room's webhooks moves its cursor forward
-- (never back), says since when the next entry fails ('0': it does not),
-- and renews its lease for ARGV[5] ms or, with ARGV[4] = '1', lets it go.
-- Another owner's lease (the holder's ran out and was taken) moves nothing.
-- KEYS: the room's webhook hash
-- ARGV: owner, cursor, failing since, '1' to let go, lease ms
-- Reply: 1 moved, 0 the lease is another's
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local h = redis.call('HMGET', KEYS[1], 'c', 'o')
if h[2] ~= ARGV[1] then return 0 end
if not h[1] or id_after(ARGV[2], h[1]) then redis.call('HSET', KEYS[1], 'c', ARGV[2]) end
redis.call('HSET', KEYS[1], 'f', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[1], 'o', 'e')
else
  redis.call('HSET', KEYS[1], 'e', now + tonumber(ARGV[5]))
end
return 1

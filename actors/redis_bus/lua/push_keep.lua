-- (1.2) Keeps a field of a user's push hash (a subscription, or a room's
-- notification level) unless the hash holds the most it may and this field
-- is not one of them; a field already there is replaced (a browser renews
-- its keys, a user changes a level).
-- KEYS[1] the hash: subscriptions (endpoint -> "p256dh auth") or levels (room -> level)
-- ARGV[1] the field, ARGV[2] its value, ARGV[3] the most fields the hash may hold
-- Reply: 1 when kept, 0 when refused.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0

-- (1.2) Keeps a user's push subscription, unless they have the most already
-- and this endpoint is not one of theirs (the same endpoint again replaces
-- its keys: a browser renews them).
-- KEYS[1] the user's subscriptions: endpoint -> "p256dh auth"
-- ARGV[1] the endpoint, ARGV[2] "p256dh auth", ARGV[3] the most a user may have
-- Reply: 1 when kept, 0 when refused.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0

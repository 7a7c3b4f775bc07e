-- (1.2) A user's notification level in a room, kept on the room's slot too,
-- where push_decide.lua reads it with the room's presence and read
-- positions (the user's own hash, push_keep.lua, lists their levels).
-- KEYS: levels (user -> level), users at `all`
-- ARGV: user, level
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[2] == 'all' then
  redis.call('SADD', KEYS[2], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1

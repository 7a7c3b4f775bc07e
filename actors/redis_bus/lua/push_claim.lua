-- (1.2) Claims up to ARGV[1] pushes that are due, for ARGV[2] ms: a pending
-- one becomes a job "f:<n>" of its own (a later message opens a new
-- pending push), due again when the claim runs out, so that a push owed by
-- a node that died is sent by another. A retry's job (push_settle.lua) is
-- due at its retry time.
-- KEYS: jobs, due, sequence
-- Reply: key, JSON, key, JSON, ...
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))) do
  local job = redis.call('HGET', KEYS[1], key)
  if not job then
    redis.call('ZREM', KEYS[2], key)
  else
    if string.sub(key, 1, 2) == 'o:' then
      redis.call('HDEL', KEYS[1], key)
      redis.call('ZREM', KEYS[2], key)
      key = 'f:' .. redis.call('INCR', KEYS[3])
      redis.call('HSET', KEYS[1], key, job)
    end
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), key)
    out[#out + 1] = key
    out[#out + 1] = job
  end
end
return out

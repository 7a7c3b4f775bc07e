-- (1.2) Ends a claimed push, or makes it due again at its retry time with
-- the endpoints still owed.
-- KEYS: jobs, due
-- ARGV: key, retry at (ms; '0': ended), first try (ms), attempts, endpoints ("\n"-joined)
local job = redis.call('HGET', KEYS[1], ARGV[1])
if not job then return 0 end
if ARGV[2] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
job = cjson.decode(job)
job.first, job.attempts, job.pending = ARGV[3], tonumber(ARGV[4]), ARGV[5]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(job))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
return 1

-- (1.2) Folds a message into a user's pending push for its room, or opens
-- one due a fold's time from now. Pending pushes of every user are kept on
-- one slot, {push}, where every node's pusher claims those due
-- (push_claim.lua): a job "o:<user>\n<room>" until claimed.
-- KEYS: jobs (key -> JSON), due (key -> ms)
-- ARGV: user, room, id, sender, text, '1' in a direct conversation, fold ms, most jobs
-- Reply: 1 opened, 0 folded, -1 refused (too many pending).
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local key = 'o:' .. ARGV[1] .. '\n' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], key)
local job
if kept then
  job = cjson.decode(kept)
else
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[8]) then return -1 end
  job = {user = ARGV[1], room = ARGV[2], count = 0, first = '0', attempts = 0, pending = ''}
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), key)
end
job.id, job.sender, job.text, job.dm = ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
job.count = job.count + 1
redis.call('HSET', KEYS[1], key, cjson.encode(job))
if job.count == 1 then return 1 end
return 0

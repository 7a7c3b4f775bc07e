-- Stores a message and publishes it, once per (user, cid). Retry ids live
-- in the room's `cids` sorted set, scored by their message's ms, and leave
-- it once older than the cid TTL or than the stream's oldest entry: memory
-- for them is bounded by the TTL and by the retention.
-- KEYS: stream, retry ids, channel
-- ARGV: user, text, cid, retention, head, middle, tail, cid ttl ms, publish command
-- Returns {"new", id, frame} or {"dup", id, {field, value, ...}}.
local user, cid = ARGV[1], ARGV[3]
local member = #user .. ':' .. user .. cid
if cid ~= '' then
  local ms = redis.call('ZSCORE', KEYS[2], member)
  if ms then
    for _, e in ipairs(redis.call('XRANGE', KEYS[1], ms, ms)) do
      local f = {}
      for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
      if f.u == user and f.c == cid then return {'dup', e[1], e[2]} end
    end
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'u', user, 't', ARGV[2], 'c', cid)
local ms = tonumber(string.match(id, '^(%d+)'))
if cid ~= '' then
  local ttl = tonumber(ARGV[8])
  local cutoff = ms - ttl
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #oldest > 0 then cutoff = math.max(cutoff, tonumber(string.match(oldest[1][1], '^(%d+)'))) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff)
  redis.call('ZADD', KEYS[2], ms, member)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local frame = ARGV[5] .. id .. ARGV[6] .. ms .. ARGV[7]
redis.call(ARGV[9], KEYS[3], 'm' .. id .. '\n' .. frame)
return {'new', id, frame}

-- Stores a message and publishes it, once per (user, cid). Retry ids live
-- in the room's `cids` sorted set, scored by their message's ms, and leave
-- it once older than the cid TTL or than the stream's oldest entry: memory
-- for them is bounded by the TTL and by the retention.
-- With no publish command ([redis] wait_replicas set) the message is not
-- published here: the bridge publishes it with replicated.lua once it has
-- reached the replicas, naming the entry before it, which this returns.
-- KEYS: stream, retry ids, channel, watermark
-- ARGV: user, text, cid, retention, head, middle, tail, cid ttl ms, publish command ('' for none)
-- Returns {"new", id, frame, previous} or {"dup", id, {field, value, ...}, previous};
-- previous is '' when published here.
local user, cid, publish = ARGV[1], ARGV[3], ARGV[9]
local function entry_before(id)
  local e = redis.call('XREVRANGE', KEYS[1], id, '-', 'COUNT', 1)
  return e[1] and e[1][1] or '0-0'
end
local member = #user .. ':' .. user .. cid
if cid ~= '' then
  local ms = redis.call('ZSCORE', KEYS[2], member)
  if ms then
    for _, e in ipairs(redis.call('XRANGE', KEYS[1], ms, ms)) do
      local f = {}
      for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
      if f.u == user and f.c == cid then
        -- A write of this script's own, so that the WAIT after it covers
        -- the entry, whichever connection stored it.
        if publish == '' then redis.call('PEXPIRE', KEYS[2], ARGV[8]) end
        return {'dup', e[1], e[2], publish == '' and entry_before('(' .. e[1]) or ''}
      end
    end
  end
end
local previous = ''
if publish == '' then
  previous = entry_before('+')
  -- The first replicated store in a room: what the stream held before was
  -- stored without waiting, and is readable as it was.
  if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], previous) end
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
if publish ~= '' then redis.call(publish, KEYS[3], 'm' .. id .. '\n' .. frame) end
return {'new', id, frame, previous}

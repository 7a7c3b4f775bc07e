-- What a node reads back from a room's stream after a gap: the entries
-- after ARGV[1], up to what readers may see or, if later, up to ARGV[2] (a
-- published message known to have reached the replicas). With ARGV[1] empty,
-- only the id to start from: the newest readable entry ('0-0' for none).
-- KEYS: stream, watermark
-- ARGV: after id ('' for none), at least up to ('' for none), count, '1' replicated
local upper = readable_upper(KEYS[2], ARGV[4])
if upper ~= '+' and ARGV[2] ~= '' and id_after(ARGV[2], upper) then upper = ARGV[2] end
if ARGV[1] == '' then
  local newest = redis.call('XREVRANGE', KEYS[1], upper, '-', 'COUNT', 1)
  return {newest[1] and newest[1][1] or '0-0'}
end
return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], upper, 'COUNT', tonumber(ARGV[3]))

-- The room directory: one hash, field room -> "<presence version> <members>
-- <last message ms>". Members move only with a newer presence version (the
-- nodes that saw a presence event may write it in any order; a room empty
-- again starts its versions over, so an empty room's version is kept as 0);
-- the last message ms only forward.
-- KEYS: directory hash
-- ARGV: room, presence version ('' for none), members, last message ms ('' for none)
local current = redis.call('HGET', KEYS[1], ARGV[1])
local v, m, l = 0, 0, 0
if current then
  local a, b, c = string.match(current, '^(%d+) (%d+) (%d+)$')
  if a then v, m, l = tonumber(a), tonumber(b), tonumber(c) end
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) > v then
  v, m = tonumber(ARGV[2]), tonumber(ARGV[3])
  if m == 0 then v = 0 end
end
if ARGV[4] ~= '' and tonumber(ARGV[4]) > l then l = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[1], v .. ' ' .. m .. ' ' .. l)
return 1

-- What a member entering a room needs, in one consistent read.
-- KEYS: stream, members hash, presence version, nodes hash, watermark
-- ARGV: since id ('' for none), limit, '1' replicated
-- Returns {entries, live member fields, version, more}; entries newest first
-- without `since`, oldest first with it.
local entries, more
local upper = readable_upper(KEYS[5], ARGV[3])
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], upper)
  more = #redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', 1) > 0
else
  local n = tonumber(ARGV[2])
  entries = redis.call('XREVRANGE', KEYS[1], upper, '-', 'COUNT', n + 1)
  more = #entries > n
  if more then table.remove(entries) end
end
local live, fields, members = live_nodes(KEYS[4], now_ms()), redis.call('HGETALL', KEYS[2]), {}
for i = 1, #fields, 2 do
  if is_live(live, fields[i], fields[i + 1]) then table.insert(members, fields[i]) end
end
local version = redis.call('GET', KEYS[3]) or '0'
return {entries, members, version, more and 1 or 0}

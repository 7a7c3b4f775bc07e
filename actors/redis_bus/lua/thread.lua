-- A page of a thread: up to `count` of its messages before ARGV[1] (or the
-- newest), no later than what readers may see, oldest first, with each
-- one's current state (thread_helpers.lua says how threads are kept).
-- KEYS: stream, watermark, states, the root's thread list
-- ARGV: before id ('' for none), count, '1' replicated
-- Returns {entries, states, older}: older is 1 when older messages of the
-- thread are in the stream, 2 when they left it (an archive may have them),
-- else 0.
local upper = readable_upper(KEYS[2], ARGV[3])
local ids = redis.call('LRANGE', KEYS[4], 0, -1)
local n = #ids
while n > 0 and ((upper ~= '+' and id_after(ids[n], upper)) or (ARGV[1] ~= '' and not id_after(ARGV[1], ids[n]))) do
  n = n - 1
end
local first = math.max(1, n - tonumber(ARGV[2]) + 1)
local entries = {}
for i = first, n do
  local e = redis.call('XRANGE', KEYS[1], ids[i], ids[i])[1]
  if e then table.insert(entries, e) end
end
local older = 0
if first > 1 and n > 0 then
  older = 1
elseif ids[1] and tonumber(entry_fields(redis.call('XRANGE', KEYS[1], ids[1], ids[1])[1] or {'', {}}).i or '1') > 1 then
  older = 2
end
return {entries, states_of(KEYS[3], entries), older}

-- What a member entering a room needs, in one consistent read.
-- KEYS: stream, members hash, presence version, nodes hash, watermark, states, read positions
-- ARGV: since id ('' for none), limit, '1' replicated, user, '1' for the
--       members (a node that already follows the room's presence needs
--       none, and a big room's list is long)
-- Returns {entries, live member fields, version, more, states, read, unread}:
-- without `since`, the newest messages, newest first; with it, every entry
-- (messages and changes) after it, oldest first. States are the messages'
-- current ones ('' for none); read is the user's position ('' for none).
local entries, more
local upper = readable_upper(KEYS[5], ARGV[3])
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], upper)
  more = #redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', 1) > 0
else
  local n = tonumber(ARGV[2])
  entries = messages_down(KEYS[1], upper, n + 1)
  more = #entries > n
  if more then table.remove(entries) end
end
local members = {}
if ARGV[5] ~= '0' then
  local live, fields = live_nodes(KEYS[4], now_ms()), redis.call('HGETALL', KEYS[2])
  for i = 1, #fields, 2 do
    if is_live(live, fields[i], fields[i + 1]) then table.insert(members, fields[i]) end
  end
end
local version = redis.call('GET', KEYS[3]) or '0'
local read = redis.call('HGET', KEYS[7], ARGV[4])
local unread = read and unread_after(KEYS[1], upper, read) or 0
return {entries, members, version, more and 1 or 0, states_of(KEYS[6], entries), read or '', unread}

-- Moves a user's read position in a room up to ARGV[2] (never back, never
-- past the newest readable entry) and, when it moved, publishes
-- "r<id> <unread>\n<user>" for the user's sessions on every node.
-- KEYS: stream, read positions, channel, watermark
-- ARGV: user, id, publish command, '1' replicated
-- Returns {'none'} when the room holds nothing, else {'new' or 'same', id, unread}.
local upper = readable_upper(KEYS[4], ARGV[4])
local newest = redis.call('XREVRANGE', KEYS[1], upper, '-', 'COUNT', 1)[1]
if not newest then return {'none'} end
local want = ARGV[2]
if id_after(want, newest[1]) then want = newest[1] end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and not id_after(want, current) then
  return {'same', current, unread_after(KEYS[1], upper, current)}
end
redis.call('HSET', KEYS[2], ARGV[1], want)
local unread = unread_after(KEYS[1], upper, want)
redis.call(ARGV[3], KEYS[3], 'r' .. want .. ' ' .. unread .. '\n' .. ARGV[1])
return {'new', want, unread}

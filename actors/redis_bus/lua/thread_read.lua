-- (1.2) Moves a follower's read position in a thread up to ARGV[3] (never
-- back, never past the thread's newest readable message) and, when it
-- moved, publishes "R<root> <id> <unread>\n<user>" for the user's sessions
-- on every node. thread_helpers.lua says how follows are kept.
-- KEYS: the thread prefix, states, channel, watermark
-- ARGV: user, root, id, publish command, '1' replicated
-- Returns {'none'} when the user does not follow the thread (or it has no
-- message yet), else {'new' or 'same', id ('' for none), unread}.
local followers = followers_key(KEYS[1], ARGV[2])
local current = redis.call('HGET', followers, ARGV[1])
if not current then return {'none'} end
local list = KEYS[1] .. ARGV[2]
local upper = readable_upper(KEYS[4], ARGV[5])
local _, newest = thread_unread(list, KEYS[2], current, upper)
if not newest then return {'none'} end
local want = ARGV[3]
if id_after(want, newest) then want = newest end
if current ~= '' and not id_after(want, current) then
  return {'same', current, (thread_unread(list, KEYS[2], current, upper))}
end
redis.call('HSET', followers, ARGV[1], want)
local unread = thread_unread(list, KEYS[2], want, upper)
redis.call(ARGV[4], KEYS[3], 'R' .. ARGV[2] .. ' ' .. want .. ' ' .. unread .. '\n' .. ARGV[1])
return {'new', want, unread}

-- (1.2) The threads of a room a user follows: for each, its root, the
-- user's read position in it, the messages after it and the root's counts.
-- Roots that left the stream leave the user's set here.
-- thread_helpers.lua says how follows are kept.
-- KEYS: the thread prefix, states, watermark
-- ARGV: user, '1' replicated
-- Returns {{root, read ('' for none), unread, replies, last_reply ('' for none)}, ...}.
local upper = readable_upper(KEYS[3], ARGV[2])
local followed = followed_key(KEYS[1], ARGV[1])
local out = {}
for _, root in ipairs(redis.call('SMEMBERS', followed)) do
  local read = redis.call('HGET', followers_key(KEYS[1], root), ARGV[1])
  if not read then
    redis.call('SREM', followed, root)
  else
    local raw = redis.call('HGET', KEYS[2], root)
    local s = raw and cjson.decode(raw) or {}
    local unread = thread_unread(KEYS[1] .. root, KEYS[2], read, upper)
    table.insert(out, {root, read, unread, s.h or 0, s.l or ''})
  end
end
return out

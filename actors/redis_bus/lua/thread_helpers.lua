-- Replies and threads. A message stored with `thread` names its root in
-- field h and its place in the thread (from 1) in field i; with `reply_to`,
-- the message it quotes in field y. A root's state (the room's `states`
-- hash, as edits keep it) holds h: its thread's messages not deleted, l: the
-- ts of the newest of them, H: its thread's messages ever stored. Each
-- root's thread messages still in the stream are listed, oldest first, in
-- the list <thread prefix><root>: stored with the message, popped as it
-- leaves the stream (thread messages leave in the order they came).
--
-- Follows (1.2): who follows a root's thread, with how far each has read it,
-- in the hash <thread prefix><root>> (user -> id of the newest thread
-- message read, '' for none yet); the roots a user follows in the room, in
-- the set <thread prefix>@<user>. A thread message's author (read up to it),
-- its root's author and up to 10 names it mentions follow the thread. The
-- hash goes when its root leaves the stream (a root that left takes no more
-- replies), and the root leaves each follower's set with it.
--
-- These helpers, put before each script that needs them.

-- A message still in the stream and not deleted: its fields and state, or
-- nil and the refusal.
local function live_message(stream, states, id, what)
  local e = redis.call('XRANGE', stream, id, id)[1]
  local f = e and entry_fields(e)
  if not f or f.k then return nil, nil, {'refused', 'not_found', what .. ": no such message in the room's history"} end
  local raw = redis.call('HGET', states, id)
  local s = raw and cjson.decode(raw) or {}
  if s.d then return nil, nil, {'refused', 'not_found', what .. ': the message was deleted'} end
  return f, s, nil
end

-- The root a new message's thread is: `thread` itself, or the root of the
-- thread it is in. Returns the root and its state, or nil and the refusal.
local function thread_root(stream, states, thread)
  local f, s, refused = live_message(stream, states, thread, 'thread')
  if refused then return nil, nil, refused end
  if not f.h then return thread, s, nil end
  local root = f.h
  f, s, refused = live_message(stream, states, root, 'thread')
  if refused then return nil, nil, refused end
  return root, s, nil
end

-- The ts of the newest message of a thread that is not deleted (`except`
-- is, being deleted now), or nil.
local function newest_reply(list, states, except)
  local len = redis.call('LLEN', list)
  for last = len - 1, 0, -32 do
    local ids = redis.call('LRANGE', list, math.max(0, last - 31), last)
    for i = #ids, 1, -1 do
      local id = ids[i]
      local raw = id ~= except and redis.call('HGET', states, id)
      if id ~= except and not (raw and cjson.decode(raw).d) then return string.match(id, '^(%d+)') end
    end
  end
  return nil
end

-- The hash of a root's followers, and the set of a user's roots.
local function followers_key(prefix, root) return prefix .. root .. '>' end
local function followed_key(prefix, user) return prefix .. '@' .. user end

-- A root left the stream: nobody follows its thread any more.
local function forget_followers(prefix, root)
  local followers = followers_key(prefix, root)
  for _, name in ipairs(redis.call('HKEYS', followers)) do
    redis.call('SREM', followed_key(prefix, name), root)
  end
  redis.call('DEL', followers)
end

-- A thread's messages after `read` ('' for all) up to the readable `upper`
-- that are not deleted, and its newest message readers may see.
local function thread_unread(list, states, read, upper)
  local ids = redis.call('LRANGE', list, 0, -1)
  local unread, newest = 0, nil
  for i = #ids, 1, -1 do
    local id = ids[i]
    if upper == '+' or not id_after(id, upper) then
      newest = newest or id
      if read ~= '' and not id_after(id, read) then break end
      local raw = redis.call('HGET', states, id)
      if not (raw and cjson.decode(raw).d) then unread = unread + 1 end
    end
  end
  return unread, newest
end

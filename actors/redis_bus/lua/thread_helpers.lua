-- Replies and threads. A message stored with `thread` names its root in
-- field h and its place in the thread (from 1) in field i; with `reply_to`,
-- the message it quotes in field y. A root's state (the room's `states`
-- hash, as edits keep it) holds h: its thread's messages not deleted, l: the
-- ts of the newest of them, H: its thread's messages ever stored. Each
-- root's thread messages still in the stream are listed, oldest first, in
-- the list <thread prefix><root>: stored with the message, popped as it
-- leaves the stream (thread messages leave in the order they came).
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

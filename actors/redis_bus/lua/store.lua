-- Stores a message, or a change of one (edit, delete, reaction, preview), and
-- publishes it, once per (user, cid). Retry ids live in the room's `cids`
-- sorted set, scored by their entry's ms, and leave it once older than the
-- cid TTL or than the stream's oldest entry: memory for them is bounded by
-- the TTL and by the retention.
-- A change is checked against its target and applied to the target's
-- current state, kept in the room's `states` hash (JSON: v the newest change,
-- e ts of the latest edit and t its text, d deleted, r reactions as
-- [[emoji, [users]], ...]) until the target leaves the stream.
-- The stream keeps the last `retention` messages and the changes after the
-- oldest of them, at most 8 * retention entries in all; it is trimmed every
-- tenth of the retention (at most 100) messages, so that not every store
-- pays for it.
-- With no publish command ([redis] wait_replicas set) nothing is published
-- here: the bridge publishes with replicated.lua once the entry reached the
-- replicas, naming the entry before it, which this returns.
-- With an archive, no entry newer than the room's archived mark leaves the
-- stream while the stream holds at most `hold` entries: the backlog waits
-- here while the archive is slow or away. Webhooks (1.2) hold entries after
-- their cursor the same way, up to their own hold.
-- A muted user stores nothing; a moderator may delete anyone's message.
-- A message in a thread (thread_helpers.lua) counts on its root in the same
-- step, and its root goes into its event right after the ts; a delete of
-- one takes it off its root's count, and its event says the root's count
-- and newest reply after it.
-- A message's files (1.2) go into its entry's `f` field (a JSON array of
-- objects, `i` the file id) and are claimed in the room's file claims hash
-- (file id -> entry id): a file is sent in one message only. A deleted
-- message's files, and those of messages trimmed while no archive keeps
-- them, are returned for the bridge to remove from the store.
-- A preview (1.2) is the node's: stored once per message (in the state's
-- `p`, and the entry's `p` field), under the message's author's name. Its
-- image (a file of the message's own) goes as the message's files go.
-- KEYS: stream, retry ids, channel, watermark, states, messages stored, mutes,
--       archived mark, thread list prefix, file claims, webhook hash
-- ARGV: kind (m, e, d, r), user, text, cid, retention, head, middle, tail,
--       cid ttl ms, publish command ('' for none), target, emoji, on ('1'/'0'),
--       '1' for a moderator, '1' with an archive, hold, reply_to ('' for
--       none), thread ('' for none), and the thread's fields: open, close,
--       replies, last_reply; the files field ('' for none) and the file ids,
--       space-separated; a preview's field (JSON); the names a thread
--       message mentions, one per line; the webhooks' hold ('' when they
--       do not take the room); '1' for a bot's message (field B); the author's
--       shown name ('' for none; field N)
-- Returns {'new', id, frame, previous, {files field, ...}},
-- {'dup', id, {field, value, ...}, previous, unshown ('1': past the
-- watermark, so nobody was shown it yet)}, {'refused', code, reason} or,
-- for a reaction already so, {'same', id, count} (id: the newest change of
-- the target); previous is '' when published here; the files fields are
-- those of messages whose files are to go.
local kind, user, text, cid, publish = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[10]
local retention = tonumber(ARGV[5])
local function entry_before(id)
  local e = redis.call('XREVRANGE', KEYS[1], id, '-', 'COUNT', 1)
  return e[1] and e[1][1] or '0-0'
end
local member = #user .. ':' .. user .. cid
if cid ~= '' then
  local ms = redis.call('ZSCORE', KEYS[2], member)
  if ms then
    for _, e in ipairs(redis.call('XRANGE', KEYS[1], ms, ms)) do
      local f = entry_fields(e)
      if f.u == user and f.c == cid then
        -- A write of this script's own, so that the WAIT after it covers
        -- the entry, whichever connection stored it.
        local previous, unshown = '', '0'
        if publish == '' then
          redis.call('PEXPIRE', KEYS[2], ARGV[9])
          previous = entry_before('(' .. e[1])
          local mark = redis.call('GET', KEYS[4])
          if mark and id_after(e[1], mark) then unshown = '1' end
        end
        return {'dup', e[1], e[2], previous, unshown}
      end
    end
  end
end

if in_force(KEYS[7], user) then return {'refused', 'forbidden', 'you are muted in this room'} end

local file_ids = {}
if kind == 'm' then
  for file in string.gmatch(ARGV[24], '%S+') do
    if redis.call('HEXISTS', KEYS[10], file) == 1 then
      return {'refused', 'bad_request', 'file ' .. file .. ' was sent already'}
    end
    table.insert(file_ids, file)
  end
end
-- A message's files leave the claims; the fields of those to remove go back.
local files_gone = {}
local function drop_files(field, remove)
  if not field or field == '' then return end
  local ok, files = pcall(cjson.decode, field)
  if not ok or type(files) ~= 'table' then return end
  for _, f in ipairs(files) do
    if type(f) == 'table' and type(f.i) == 'string' then redis.call('HDEL', KEYS[10], f.i) end
  end
  if remove then table.insert(files_gone, field) end
end
-- A preview's image is a file of its message's own (a copy): it goes with
-- the message, and with the preview's entry when the stream trims it.
local function drop_preview_image(preview)
  if type(preview) ~= 'table' or type(preview.i) ~= 'string' then return end
  local file = string.match(preview.i, '^/files/([%w_%-]+)/')
  if file then table.insert(files_gone, cjson.encode({{i = file}})) end
end

local root, root_state
if kind == 'm' and ARGV[17] ~= '' then
  local _, _, refused = live_message(KEYS[1], KEYS[5], ARGV[17], 'reply_to')
  if refused then return refused end
end
if kind == 'm' and ARGV[18] ~= '' then
  local refused
  root, root_state, refused = thread_root(KEYS[1], KEYS[5], ARGV[18])
  if refused then return refused end
end

local target, state, users, at, target_fields = ARGV[11], nil, nil, nil, nil
if kind ~= 'm' then
  local t = redis.call('XRANGE', KEYS[1], target, target)[1]
  local f = t and entry_fields(t)
  target_fields = f
  if not f or f.k then return {'refused', 'not_found', "no such message in the room's history"} end
  local raw = redis.call('HGET', KEYS[5], target)
  state = raw and cjson.decode(raw) or {}
  if state.d then return {'refused', 'not_found', 'the message was deleted'} end
  if kind == 'p' and state.p then return {'refused', 'bad_request', 'the message has a preview already'} end
  if kind ~= 'r' and f.u ~= user and not (kind == 'd' and ARGV[14] == '1') then
    return {'refused', 'forbidden', 'only its author may ' .. (kind == 'e' and 'edit' or 'delete') .. ' a message'}
  end
  if kind == 'r' then
    state.r = state.r or {}
    for _, pair in ipairs(state.r) do
      if pair[1] == ARGV[12] then users = pair[2] end
    end
    if users then
      for i, u in ipairs(users) do if u == user then at = i end end
    end
    if (ARGV[13] == '1') == (at ~= nil) then return {'same', state.v or target, users and #users or 0} end
  end
end

local previous = ''
if publish == '' then
  previous = entry_before('+')
  -- The first replicated store in a room: what the stream held before was
  -- stored without waiting, and is readable as it was.
  if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], previous) end
end

local numbered
if kind == 'm' then
  numbered = redis.call('INCR', KEYS[6])
else
  numbered = tonumber(redis.call('GET', KEYS[6]) or '0')
end
local entry = {'u', user, 't', text, 'c', cid, 'n', numbered}
if kind ~= 'm' then
  entry = {'k', kind, 'g', target, 'u', user, 'c', cid, 'n', numbered}
end
if ARGV[17] ~= '' and kind == 'm' then
  for _, v in ipairs({'y', ARGV[17]}) do table.insert(entry, v) end
end
if ARGV[23] ~= '' and kind == 'm' then
  for _, v in ipairs({'f', ARGV[23]}) do table.insert(entry, v) end
end
if ARGV[28] == '1' and kind == 'm' then
  table.insert(entry, 'B'); table.insert(entry, '1')
end
if (ARGV[29] or '') ~= '' and kind == 'm' then
  table.insert(entry, 'N'); table.insert(entry, ARGV[29])
end
if root then
  root_state.H = (root_state.H or 0) + 1
  for _, v in ipairs({'h', root, 'i', root_state.H}) do table.insert(entry, v) end
end
-- A deleted thread message leaves its root's count, while the root is kept.
local thread_state
if kind == 'd' and target_fields.h then
  local raw = redis.call('HGET', KEYS[5], target_fields.h)
  if raw then
    thread_state = cjson.decode(raw)
    thread_state.h = math.max(0, (thread_state.h or 1) - 1)
    thread_state.l = newest_reply(KEYS[9] .. target_fields.h, KEYS[5], target)
    for _, v in ipairs({'h', target_fields.h, 'w', thread_state.h, 'l', thread_state.l or ''}) do
      table.insert(entry, v)
    end
  end
end
local count = 0
if kind == 'e' then
  table.insert(entry, 't'); table.insert(entry, text)
elseif kind == 'p' then
  table.insert(entry, 'p'); table.insert(entry, ARGV[25])
elseif kind == 'r' then
  if ARGV[13] == '1' then
    if not users then users = {}; table.insert(state.r, {ARGV[12], users}) end
    table.insert(users, user)
  else
    table.remove(users, at)
    if #users == 0 then
      for i, pair in ipairs(state.r) do if pair[1] == ARGV[12] then table.remove(state.r, i) break end end
    end
  end
  count = #users
  for _, v in ipairs({'j', ARGV[12], 'o', ARGV[13], 'x', count}) do table.insert(entry, v) end
end
if (ARGV[27] or '') ~= '' then hook_start(KEYS[11], KEYS[1]) end
local id = redis.call('XADD', KEYS[1], '*', unpack(entry))
local ms = tonumber(string.match(id, '^(%d+)'))
for _, file in ipairs(file_ids) do redis.call('HSET', KEYS[10], file, id) end
if kind == 'd' then
  drop_files(target_fields.f, true)
  drop_preview_image(state.p)
end
if kind ~= 'm' then
  if kind == 'e' then
    state.e, state.t = tostring(ms), text
  elseif kind == 'd' then
    state = {d = 1, h = state.h, l = state.l, H = state.H} -- a deleted root keeps its thread
  elseif kind == 'p' then
    state.p = cjson.decode(ARGV[25])
  end
  state.v = id
  redis.call('HSET', KEYS[5], target, cjson.encode(state))
end
local thread_part = ''
if root then
  root_state.h, root_state.l = (root_state.h or 0) + 1, tostring(ms)
  redis.call('HSET', KEYS[5], root, cjson.encode(root_state))
  redis.call('RPUSH', KEYS[9] .. root, id)
  -- Who follows the thread now: the author, read up to this reply, the
  -- root's author and the names mentioned.
  local followers = followers_key(KEYS[9], root)
  local function follow(name)
    redis.call('HSETNX', followers, name, '')
    redis.call('SADD', followed_key(KEYS[9], name), root)
  end
  follow(user)
  redis.call('HSET', followers, user, id)
  local root_entry = redis.call('XRANGE', KEYS[1], root, root)[1]
  if root_entry then follow(entry_fields(root_entry).u) end
  for name in string.gmatch(ARGV[26] or '', '[^\n]+') do follow(name) end
  thread_part = ARGV[19] .. root .. ARGV[20]
elseif thread_state then
  redis.call('HSET', KEYS[5], target_fields.h, cjson.encode(thread_state))
  thread_part = ARGV[19] .. target_fields.h .. ARGV[20] .. ARGV[21] .. thread_state.h .. ARGV[22] ..
    (thread_state.l or 'null')
end

-- Trimming: messages numbered up to `numbered - retention` go, and changes
-- before the oldest message kept (they change nothing kept). Looked at once
-- every `slack` messages, or when the stream is over its cap.
local cap = retention * 8
local hold = ARGV[15] == '1' and math.max(cap, tonumber(ARGV[16])) or cap
local hooked = (ARGV[27] or '') ~= ''
if hooked then hold = math.max(hold, tonumber(ARGV[27])) end
local slack = math.min(100, math.max(1, math.floor(retention / 10)))
local len = redis.call('XLEN', KEYS[1])
if len > hold or (len > cap and hold == cap) or (kind == 'm' and numbered % slack == 0) then
  -- The older of the archive's mark and the webhooks' cursor: what both hold.
  local archived = ARGV[15] == '1' and (redis.call('GET', KEYS[8]) or '0-0') or nil
  if hooked then
    local sent = redis.call('HGET', KEYS[11], 'c') or '0-0'
    if not archived or id_after(archived, sent) then archived = sent end
  end
  local gone, cut, from, count = {}, nil, '-', 1
  while not cut do
    local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', count)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      local f = entry_fields(e)
      local waits = archived and len <= hold and id_after(e[1], archived)
      if waits or (len <= cap and not f.k and tonumber(f.n or '0') > numbered - retention) then cut = e[1] break end
      if not f.k then table.insert(gone, e[1]) end
      if not f.k then drop_files(f.f, ARGV[15] ~= '1') end
      if f.k == 'p' and ARGV[15] ~= '1' then
        local ok, preview = pcall(cjson.decode, f.p or '')
        if ok then drop_preview_image(preview) end
      end
      if not f.k and f.h then redis.call('LPOP', KEYS[9] .. f.h) end
      if not f.k and not f.h then forget_followers(KEYS[9], e[1]) end
      len = len - 1
    end
    from, count = '(' .. batch[#batch][1], 64
  end
  if cut then redis.call('XTRIM', KEYS[1], 'MINID', cut) else redis.call('XTRIM', KEYS[1], 'MAXLEN', 0) end
  for i = 1, #gone, 500 do
    redis.call('HDEL', KEYS[5], unpack(gone, i, math.min(i + 499, #gone)))
  end
end

if cid ~= '' then
  local ttl = tonumber(ARGV[9])
  local cutoff = ms - ttl
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #oldest > 0 then cutoff = math.max(cutoff, tonumber(string.match(oldest[1][1], '^(%d+)'))) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. cutoff)
  redis.call('ZADD', KEYS[2], ms, member)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local frame = ARGV[6] .. id .. ARGV[7] .. (kind == 'r' and count or ms) .. thread_part .. ARGV[8]
if publish ~= '' then redis.call(publish, KEYS[3], 'm' .. id .. '\n' .. frame) end
return {'new', id, frame, previous, files_gone}

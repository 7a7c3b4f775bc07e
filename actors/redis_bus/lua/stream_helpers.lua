-- What readers may see of a room's stream. With [redis] wait_replicas set,
-- a message is shown only once it has reached the replicas: readers stop at
-- the room's watermark, the newest entry known to have reached them (moved
-- up by replicated.lua). Without it, or before any such store, they see the
-- whole stream.
--
-- These helpers, put before each script that needs them: whether stream id
-- a is after b, and the upper bound a reader may use.
local function id_after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
local function readable_upper(watermark_key, replicated)
  if replicated ~= '1' then return '+' end
  return redis.call('GET', watermark_key) or '+'
end

-- A stream entry's fields as a table. Messages have u (user), t (text),
-- c (cid) and n (messages stored up to and including it); changes add
-- k (e edit, d delete, r reaction) and g (target), and t (edit), j (emoji),
-- o (on) and x (the emoji's count after it) as their kind needs. Entries
-- written before changes existed have no n and count as 0.
local function entry_fields(e)
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  return f
end
local function entry_number(e) return tonumber(entry_fields(e).n or '0') or 0 end
-- Messages after read position `pos`, up to the readable `upper`.
local function unread_after(stream, upper, pos)
  local newest = redis.call('XREVRANGE', stream, upper, '-', 'COUNT', 1)[1]
  if not newest then return 0 end
  local read
  local at = redis.call('XREVRANGE', stream, pos, '-', 'COUNT', 1)[1]
  if at then
    read = entry_number(at)
  else
    local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
    read = entry_number(oldest) - (entry_fields(oldest).k and 0 or 1)
  end
  return math.max(0, entry_number(newest) - read)
end
-- The current state of each message entry ('' for none, and for changes).
local function states_of(states_key, entries)
  local out = {}
  for i, e in ipairs(entries) do
    local s = false
    if not entry_fields(e).k then s = redis.call('HGET', states_key, e[1]) end
    out[i] = s or ''
  end
  return out
end
-- Up to `count` messages (changes skipped) from `upper` down, newest first.
local function messages_down(stream, upper, count)
  local found, from = {}, upper
  while #found < count do
    local batch = redis.call('XREVRANGE', stream, from, '-', 'COUNT', math.max(16, (count - #found) * 2))
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      if not entry_fields(e).k then
        table.insert(found, e)
        if #found == count then break end
      end
    end
    from = '(' .. batch[#batch][1]
  end
  return found
end

-- (1.2) Webhooks take the room: the first entry stored for them is the
-- first they send, so the cursor starts at the newest entry before it.
local function hook_start(hook_key, stream)
  if redis.call('HEXISTS', hook_key, 'c') == 1 then return end
  local e = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  redis.call('HSET', hook_key, 'c', e[1] and e[1][1] or '0-0')
end

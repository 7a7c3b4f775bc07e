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

-- Presence. A room's `members` hash has a field "<node>\n<name>" for each
-- name a node has in the room, valued with the incarnation of the node's
-- process that wrote it. Its `nodes` hash holds, for each node with members
-- there, "<incarnation> <expiry ms>" on Redis's clock, renewed by that node's
-- heartbeat. A member is live while its node's entry names the same
-- incarnation and has not expired: a node killed and started again under its
-- old name writes a new incarnation, so what its earlier life left is dead at
-- once. Everything a script touches is the room's, on the room's slot.
--
-- These helpers, put before each presence script: Redis's time in ms,
-- which nodes of a room are live, and the payload of a presence event,
-- "e<version>\n<join|leave>\n<count>\n<name>" (the node makes the frame).
local function now_ms() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end
local function live_nodes(nodes_key, now)
  local live, entries = {}, redis.call('HGETALL', nodes_key)
  for i = 1, #entries, 2 do
    local inc, expiry = string.match(entries[i + 1], '^(%S+) (%d+)$')
    if inc and tonumber(expiry) >= now then live[entries[i]] = inc end
  end
  return live
end
-- Reading a room's whole `members` hash is what a heartbeat must avoid in a
-- big room, so it does so only when a member may have died: when a node's
-- entry is found expired, or when a node's entry changes incarnation (a
-- restart under the same name). presence.lua flags the latter with an entry
-- that is already expired, which the next heartbeat removes.
local function flag_for_sweep(nodes_key) redis.call('HSET', nodes_key, '\nsweep', '- 0') end
local function is_live(live, field, inc)
  local node = string.match(field, '^(.-)\n')
  return node ~= nil and live[node] == inc
end
-- The room's `names` hash counts, for each name, the fields of `members`
-- that hold it (on any node, live or not yet removed): a name is in the
-- room while its count is above 0, and the room's count of names is the
-- hash's length, so neither needs a walk over every member. Made from
-- `members` when missing (a room written before it existed).
local function names_of(members_key, names_key)
  if redis.call('EXISTS', names_key) == 0 and redis.call('EXISTS', members_key) == 1 then
    for _, f in ipairs(redis.call('HKEYS', members_key)) do
      redis.call('HINCRBY', names_key, string.match(f, '\n(.*)$'), 1)
    end
  end
end
local function name_field_added(names_key, name) return redis.call('HINCRBY', names_key, name, 1) == 1 end
local function name_field_removed(names_key, name)
  local left = redis.call('HINCRBY', names_key, name, -1)
  if left <= 0 then redis.call('HDEL', names_key, name) return true end
  return false
end
local function presence_event(version, joined, count, name)
  return 'e' .. version .. '\n' .. (joined and 'join' or 'leave') .. '\n' .. count .. '\n' .. name
end

-- Bans and mutes: a room's hash from user to the ms their ban or mute ends
-- ('0': until lifted).
--
-- These helpers, put before each script that needs them: Redis's time in
-- ms, and whether a user's entry is in force (an ended one is dropped).
local function rules_now_ms() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end
local function in_force(key, user)
  local ends = redis.call('HGET', key, user)
  if not ends then return false end
  if ends == '0' or tonumber(ends) > rules_now_ms() then return true end
  redis.call('HDEL', key, user)
  return false
end

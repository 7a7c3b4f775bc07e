-- A moderation action: applied to the room's bans or mutes (each user's
-- "until" in ms, '0' until lifted) and stored as an entry in the room's
-- order ({k='o', a=action, u=user, b=by, x=until}), published like a
-- message. A kick or a ban also publishes "k<user>\n<by>", so that the
-- user's sessions on every node leave the room at once.
-- KEYS: stream, bans, mutes, channel, watermark, messages stored, webhook hash
-- ARGV: action, user, by, seconds ('' until lifted), head, middle, tail,
--       publish command ('' when published once replicated), kick publish
--       command, '1' when webhooks take the room
-- Returns {'new', id, frame, previous} as store.lua does.
local action, user, by, publish = ARGV[1], ARGV[2], ARGV[3], ARGV[8]
local now = rules_now_ms()
local till = ''
if ARGV[4] ~= '' and (action == 'mute' or action == 'ban') then till = tostring(now + tonumber(ARGV[4]) * 1000) end
if action == 'mute' then redis.call('HSET', KEYS[3], user, till == '' and '0' or till) end
if action == 'unmute' then redis.call('HDEL', KEYS[3], user) end
if action == 'ban' then redis.call('HSET', KEYS[2], user, till == '' and '0' or till) end
if action == 'unban' then redis.call('HDEL', KEYS[2], user) end
local previous = ''
if publish == '' then
  local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  previous = e[1] and e[1][1] or '0-0'
  if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SET', KEYS[5], previous) end
end
local numbered = tonumber(redis.call('GET', KEYS[6]) or '0')
if ARGV[10] == '1' then hook_start(KEYS[7], KEYS[1]) end
local id = redis.call('XADD', KEYS[1], '*', 'k', 'o', 'a', action, 'u', user, 'b', by, 'x', till, 'n', numbered)
local frame = ARGV[5] .. id .. ARGV[6] .. (till == '' and 'null' or till) .. ARGV[7]
if publish ~= '' then redis.call(publish, KEYS[4], 'm' .. id .. '\n' .. frame) end
if action == 'kick' or action == 'ban' then redis.call(ARGV[9], KEYS[4], 'k' .. user .. '\n' .. by) end
return {'new', id, frame, previous}

-- Whether a user may enter a room: not banned, and one of the two users of a
-- direct conversation. Someone else's conversation is refused the same way
-- whether it exists or not. An ended ban is dropped here.
-- KEYS: bans, parties
-- ARGV: user, '1' for a direct conversation
-- Returns {'ok', peer} or {'refused', code, reason}.
local user, peer = ARGV[1], ''
if ARGV[2] == '1' then
  local parties = redis.call('GET', KEYS[2])
  local a, b
  if parties then a, b = string.match(parties, '^(.-)\n(.*)$') end
  if not a or (a ~= user and b ~= user) then
    return {'refused', 'forbidden', 'this direct conversation is not yours'}
  end
  peer = a == user and b or a
end
if in_force(KEYS[1], user) then return {'refused', 'forbidden', 'you are banned from this room'} end
return {'ok', peer}

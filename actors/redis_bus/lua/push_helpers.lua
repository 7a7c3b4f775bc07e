-- (1.2) Whether a user is away from a room and has not read a message:
-- no live node has them in the room (presence_helpers.lua's rules), and
-- their read position is before the message. Put after presence_helpers
-- and stream_helpers; everything it reads is the room's.
local function away_and_unread(members_key, nodes_key, reads_key, user, id)
  for node, inc in pairs(live_nodes(nodes_key, now_ms())) do
    if redis.call('HGET', members_key, node .. '\n' .. user) == inc then return false end
  end
  local read = redis.call('HGET', reads_key, user)
  return not read or id_after(id, read)
end

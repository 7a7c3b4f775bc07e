-- (1.2) Who a message just stored owes a push (PROTOCOL.md, "Notifications
-- when away"): the users its room's levels ask it for (`all`; `mentions`,
-- the default in rooms, when its text names them; a direct conversation's
-- users default to `all`), never its sender, and only those away from the
-- room on every node who have not read it.
-- KEYS: levels (user -> level), users at `all`, parties, members, nodes, read positions
-- ARGV: id, sender, '1' in a direct conversation, then the names mentioned
-- Reply: the users owed a push.
local id, sender, dm = ARGV[1], ARGV[2], ARGV[3] == '1'
local mentioned, seen, users = {}, {}, {}
local function consider(user)
  if user ~= sender and not seen[user] then
    seen[user] = true
    users[#users + 1] = user
  end
end
for i = 4, #ARGV do
  mentioned[ARGV[i]] = true
  consider(ARGV[i])
end
if dm then
  local parties = redis.call('GET', KEYS[3])
  if parties then
    local a, b = string.match(parties, '^(.-)\n(.*)$')
    if a then consider(a) consider(b) end
  end
end
for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do consider(user) end
local owed = {}
for _, user in ipairs(users) do
  local level = redis.call('HGET', KEYS[1], user) or (dm and 'all' or 'mentions')
  if (level == 'all' or (level == 'mentions' and mentioned[user])) and
     away_and_unread(KEYS[4], KEYS[5], KEYS[6], user, id) then
    owed[#owed + 1] = user
  end
end
return owed

-- (1.2) Whether a push that is due is still wanted: the user is away from
-- the room and has not read the message (push_helpers.lua).
-- KEYS: members, nodes, read positions
-- ARGV: user, id
-- Reply: 1 when still wanted, else 0.
return away_and_unread(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]) and 1 or 0

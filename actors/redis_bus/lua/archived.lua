-- The archive holds a room's entries up to ARGV[1]: the mark moves forward
-- only (nodes may report out of order), and store.lua trims up to it.
-- KEYS: archived mark
-- ARGV: the newest archived id
local current = redis.call('GET', KEYS[1])
if not current or id_after(ARGV[1], current) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1

-- A stored message has reached its replicas: the room's watermark moves up
-- to it (never back), and it is published as "d<id> <previous>\n<frame>",
-- naming the entry before it in the stream. Messages reach their replicas in
-- stream order but may be published out of it; a node that has not handed
-- on <previous> reads the stream up to <id> first, all of which has reached
-- the replicas too.
-- KEYS: watermark, channel
-- ARGV: id, previous id, frame, publish command
local mark = redis.call('GET', KEYS[1])
if not mark or id_after(ARGV[1], mark) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call(ARGV[4], KEYS[2], 'd' .. ARGV[1] .. ' ' .. ARGV[2] .. '\n' .. ARGV[3])
return 1

-- A page of a room's history, newest first: entries before ARGV[1] (or the
-- newest), no later than what readers may see.
-- KEYS: stream, watermark
-- ARGV: before id ('' for none), count, '1' replicated
local upper = readable_upper(KEYS[2], ARGV[3])
if ARGV[1] ~= '' and (upper == '+' or not id_after(ARGV[1], upper)) then upper = '(' .. ARGV[1] end
return redis.call('XREVRANGE', KEYS[1], upper, '-', 'COUNT', tonumber(ARGV[2]))

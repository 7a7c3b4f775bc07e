-- A page of a room's history, newest first: messages (changes skipped)
-- before ARGV[1] (or the newest), no later than what readers may see, with
-- each one's current state.
-- KEYS: stream, watermark, states
-- ARGV: before id ('' for none), count, '1' replicated
-- Returns {entries, states}.
local upper = readable_upper(KEYS[2], ARGV[3])
if ARGV[1] ~= '' and (upper == '+' or not id_after(ARGV[1], upper)) then upper = '(' .. ARGV[1] end
local entries = messages_down(KEYS[1], upper, tonumber(ARGV[2]))
return {entries, states_of(KEYS[3], entries)}

-- The ids of one scope's newest entries in a range, with the size of each entry's envelope: what a resume needs
-- to decide which entries it replays, without carrying the entries themselves.
--
-- KEYS[1]  the scope's stream     alimi:tl:{mall:1}
-- ARGV[1]  upper bound, as XREVRANGE takes it ('+', or an id, inclusive)
-- ARGV[2]  lower bound (an id, inclusive)
-- ARGV[3]  how many at most
--
-- Returns { id, bytes, id, bytes, ... }, newest first.
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
local result = {}
for i, entry in ipairs(entries) do
    local fields = entry[2]
    local bytes = 0
    for f = 1, #fields, 2 do
        if fields[f] == 'event' then
            bytes = #fields[f + 1]
        end
    end
    result[2 * i - 1] = entry[1]
    result[2 * i] = bytes
end
return result

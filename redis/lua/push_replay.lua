-- Puts dead-lettered pushes back on the push stream (an operator's tool, once the cause is fixed):
--
--   redis-cli --eval redis/lua/push_replay.lua 'alimi:push:{q}:dlq' 'alimi:push:{q}' , <dead-letter entry id> ...
--   redis-cli --eval redis/lua/push_replay.lua 'alimi:push:{q}:dlq' 'alimi:push:{q}' , all
--
-- KEYS[1] the dead-letter stream, KEYS[2] the push stream; ARGV: dead-letter entry ids, or "all".
-- Each replayed entry is added to the push stream with its event, for the destinations that failed only, and
-- removed from the dead letters.
-- Returns the number replayed.
local entries
if ARGV[1] == 'all' then
    entries = redis.call('XRANGE', KEYS[1], '-', '+')
else
    entries = {}
    for i = 1, #ARGV do
        local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
        if #found == 1 then
            entries[#entries + 1] = found[1]
        end
    end
end
local replayed = 0
for _, entry in ipairs(entries) do
    local fields = entry[2]
    local id, event, destinations
    for i = 1, #fields, 2 do
        if fields[i] == 'id' then id = fields[i + 1] end
        if fields[i] == 'event' then event = fields[i + 1] end
        if fields[i] == 'destinations' then destinations = fields[i + 1] end
    end
    if id and event and event ~= '' then
        if destinations and destinations ~= '' then
            redis.call('XADD', KEYS[2], '*', 'id', id, 'event', event, 'only', destinations, 'replayed-from', entry[1])
        else
            redis.call('XADD', KEYS[2], '*', 'id', id, 'event', event, 'replayed-from', entry[1])
        end
        redis.call('XDEL', KEYS[1], entry[1])
        replayed = replayed + 1
    end
end
return replayed

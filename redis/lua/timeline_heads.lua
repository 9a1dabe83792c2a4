-- Reads, for many scopes at once, what a stream needs to start from each: its epoch, newest entry and newest
-- trimmed entry. One call instead of one per scope: an operator of 10,000 malls opens a stream in a few calls.
--
-- KEYS[2i - 1], KEYS[2i]   scope i's stream and meta hash    alimi:tl:{mall:1}  alimi:tl:{mall:1}:meta
--
-- Returns { epoch 1 or nil, last 1 or nil, trimmed 1 or nil, epoch 2, ..., this server's clock in milliseconds }:
-- every entry appended after this call has that millisecond or a later one. On a Redis Cluster the caller sends
-- only keys of one slot per call.
local reply = {}
for i = 1, #KEYS, 2 do
    local stream = KEYS[i]
    local fields = redis.call('HMGET', KEYS[i + 1], 'epoch', 'last', 'trimmed')
    local last = fields[2]
    if not last and redis.call('EXISTS', stream) == 1 then
        -- A stream written before 'last' was kept in its meta.
        local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
        if #newest > 0 then
            last = newest[1][1]
        end
    end
    reply[#reply + 1] = fields[1]
    reply[#reply + 1] = last
    reply[#reply + 1] = fields[3]
end
local time = redis.call('TIME')
reply[#reply + 1] = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return reply

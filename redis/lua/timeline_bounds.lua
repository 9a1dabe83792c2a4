-- Reads what a reader needs to judge a position in one scope's timeline, in one consistent view.
--
-- KEYS[1]  the scope's stream     alimi:tl:{mall:1}
-- KEYS[2]  the scope's meta hash  alimi:tl:{mall:1}:meta
--
-- Returns { epoch or nil, length, first entry id or nil, last entry id or nil, newest trimmed id or nil,
-- this server's clock in milliseconds }: every entry appended after this call has a later millisecond.
local stream = KEYS[1]
local meta = KEYS[2]

local fields = redis.call('HMGET', meta, 'epoch', 'trimmed')
local length = redis.call('XLEN', stream)
local first = false
local last = false
if length > 0 then
    first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1][1]
    last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1][1]
end
local time = redis.call('TIME')
return { fields[1], length, first, last, fields[2], tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) }

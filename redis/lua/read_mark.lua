-- Moves an admin's "read up to" marker forward, never back (two tabs may race; the older one must not win).
--
-- KEYS[1]  the admin's marker hash      alimi:rd:{admin:42}
-- KEYS[2]  the admin's read-ids zset    alimi:rd:{admin:42}:ids   (event id -> when it was read, ms)
-- ARGV[1]  entry id milliseconds   ARGV[2] entry id sequence   ARGV[3] scope text (the tie-break)
-- ARGV[4]  time-to-live of both keys, seconds
--
-- Positions compare by (milliseconds, sequence, scope text), as TimelinePosition does. Events read one by one
-- before the new marker's time are forgotten: the marker covers them (an event is read after it was appended).
-- Returns the marker in force afterwards: { ms, seq, scope }.
local marker = KEYS[1]
local ids = KEYS[2]
local ms = tonumber(ARGV[1])
local seq = tonumber(ARGV[2])
local scope = ARGV[3]

local current = redis.call('HMGET', marker, 'ms', 'seq', 'scope')
local forward = true
if current[1] then
    local cms = tonumber(current[1])
    local cseq = tonumber(current[2])
    if ms < cms or (ms == cms and (seq < cseq or (seq == cseq and scope <= current[3]))) then
        forward = false
    end
end
if forward then
    redis.call('HSET', marker, 'ms', ARGV[1], 'seq', ARGV[2], 'scope', scope)
    redis.call('ZREMRANGEBYSCORE', ids, '-inf', '(' .. ARGV[1])
end
redis.call('EXPIRE', marker, ARGV[4])
if redis.call('EXISTS', ids) == 1 then
    redis.call('EXPIRE', ids, ARGV[4])
end
return redis.call('HMGET', marker, 'ms', 'seq', 'scope')

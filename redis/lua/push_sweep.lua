-- Keeps the push stream and its consumer group from growing: deletes the entries the workers' group has
-- acknowledged but that are still there (left by a worker that died between acknowledging and deleting, or by
-- versions that did not delete), and the consumers of nodes long gone (each node start adds one). Run now and
-- then by each push worker.
--
-- KEYS[1]  the push work stream   alimi:push:{q}
-- ARGV[1]  the consumer group     ARGV[2] idle time, ms, after which a consumer with nothing pending is gone
--
-- An entry is done when the group has read past it (at or before last-delivered-id) and it is not pending.
-- Everything below min(the oldest pending entry, last-delivered-id + 1) is therefore done.
-- Returns { entries deleted, consumers deleted }.
if redis.call('EXISTS', KEYS[1]) == 0 then
    return { 0, 0 }
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
local delivered
for _, group in ipairs(groups) do
    local name, last
    for i = 1, #group, 2 do
        if group[i] == 'name' then name = group[i + 1] end
        if group[i] == 'last-delivered-id' then last = group[i + 1] end
    end
    if name == ARGV[1] then delivered = last end
end
if not delivered then
    return { 0, 0 }
end
local consumers = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local name, pending, idle
    for i = 1, #consumer, 2 do
        if consumer[i] == 'name' then name = consumer[i + 1] end
        if consumer[i] == 'pending' then pending = consumer[i + 1] end
        if consumer[i] == 'idle' then idle = consumer[i + 1] end
    end
    if pending == 0 and idle > tonumber(ARGV[2]) then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
        consumers = consumers + 1
    end
end
if delivered == '0-0' then
    return { 0, consumers }
end
local ms, seq = string.match(delivered, '^(%d+)-(%d+)$')
local bound = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[1] > 0 then
    local oldest = pending[2]
    local pms, pseq = string.match(oldest, '^(%d+)-(%d+)$')
    local bms, bseq = string.match(bound, '^(%d+)-(%d+)$')
    if tonumber(pms) < tonumber(bms) or (tonumber(pms) == tonumber(bms) and tonumber(pseq) < tonumber(bseq)) then
        bound = oldest
    end
end
return { redis.call('XTRIM', KEYS[1], 'MINID', bound), consumers }

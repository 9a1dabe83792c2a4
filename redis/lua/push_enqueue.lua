-- Adds push-flagged events to the push work stream, each event once (an append retried after a failure or a crash
-- calls this again with the same events).
--
-- KEYS[1]          the push work stream                             alimi:push:{q}
-- KEYS[2i], KEYS[2i + 1]  event i's dedup key (its source and id)   alimi:push:{q}:sid:<digest>
--                  and its key as written before sources counted    alimi:push:{q}:ev:<event id>
-- ARGV[1]          dedup time-to-live, ms
-- ARGV[2..]        per event: id, envelope JSON
--
-- An event is queued once per source and id. A key of the older form (by id alone, which expires within one
-- dedup window) still counts as queued: those keys do not say which source they were for.
--
-- Returns the number of events added.
local ttl = ARGV[1]
local added = 0
local events = (#KEYS - 1) / 2
for i = 1, events do
    local at = 2 + (i - 1) * 2
    if redis.call('EXISTS', KEYS[2 * i + 1]) == 0 and redis.call('SET', KEYS[2 * i], '1', 'NX', 'PX', ttl) then
        redis.call('XADD', KEYS[1], '*', 'id', ARGV[at], 'event', ARGV[at + 1])
        added = added + 1
    end
end
return added

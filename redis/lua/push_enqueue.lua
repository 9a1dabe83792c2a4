-- Adds push-flagged events to the push work stream, each event once (an append retried after a failure or a crash
-- calls this again with the same events), and keeps the stream within its cap.
--
-- KEYS[1]          the push work stream                             alimi:push:{q}
-- KEYS[2]          the count of entries dropped at the cap          alimi:push:{q}:dropped
-- KEYS[2i + 1], KEYS[2i + 2]  event i's dedup key (source and id)   alimi:push:{q}:sid:<digest>
--                  and its key as written before sources counted    alimi:push:{q}:ev:<event id>
-- ARGV[1]          dedup time-to-live, ms
-- ARGV[2]          the stream's cap: entries beyond it, oldest first, are dropped
-- ARGV[3..]        per event: id, envelope JSON
--
-- An event is queued once per source and id. A key of the older form (by id alone, which expires within one
-- dedup window) still counts as queued: those keys do not say which source they were for.
--
-- Workers delete what they have dealt with, so the stream holds only work not done yet. It reaches the cap only
-- when no push worker runs or they fall far behind: then the oldest pushes are dropped (their events stay on
-- the timelines) and counted in KEYS[2].
--
-- Returns { events added, entries dropped now }.
local ttl = ARGV[1]
local cap = tonumber(ARGV[2])
local added = 0
local events = (#KEYS - 2) / 2
for i = 1, events do
    local at = 3 + (i - 1) * 2
    if redis.call('EXISTS', KEYS[2 * i + 2]) == 0 and redis.call('SET', KEYS[2 * i + 1], '1', 'NX', 'PX', ttl) then
        redis.call('XADD', KEYS[1], '*', 'id', ARGV[at], 'event', ARGV[at + 1])
        added = added + 1
    end
end
local dropped = 0
if added > 0 and redis.call('XLEN', KEYS[1]) > cap then
    dropped = redis.call('XTRIM', KEYS[1], 'MAXLEN', cap)
    redis.call('INCRBY', KEYS[2], dropped)
end
return { added, dropped }

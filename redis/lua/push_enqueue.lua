-- Adds push-flagged events to the push work stream, each event once (an append retried after a failure or a crash
-- calls this again with the same events).
--
-- KEYS[1]      the push work stream          alimi:push:{q}
-- KEYS[2..]    one dedup key per event       alimi:push:{q}:ev:<event id>
-- ARGV[1]      dedup time-to-live, ms
-- ARGV[2..]    per event: id, envelope JSON
--
-- Returns the number of events added.
local ttl = ARGV[1]
local added = 0
for i = 2, #KEYS do
    local at = 2 + (i - 2) * 2
    if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ttl) then
        redis.call('XADD', KEYS[1], '*', 'id', ARGV[at], 'event', ARGV[at + 1])
        added = added + 1
    end
end
return added

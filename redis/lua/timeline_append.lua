-- Appends events to one scope's timeline, atomically, skipping those already there.
--
-- KEYS[1]      the scope's stream                      alimi:tl:{mall:1}
-- KEYS[2]      the scope's meta hash (epoch)           alimi:tl:{mall:1}:meta
-- KEYS[2 + i]  the dedup key of event i                alimi:tl:{mall:1}:ev:<event id>
-- ARGV[1]      MAXLEN ~ bound (entries)
-- ARGV[2]      maximum age in milliseconds (MINID ~ bound is the newest entry's time minus this)
-- ARGV[3]      dedup key time-to-live in milliseconds
-- ARGV[4]      epoch to record if the stream does not exist yet
-- ARGV[5 + 3 * (i - 1) ...]   event i: id, type, envelope JSON
--
-- Returns { epoch, entry id 1, duplicate 1, entry id 2, duplicate 2, ... } where duplicate is 1 when the
-- event was already in this stream (its original entry id is returned) and 0 when it was added now.
--
-- All keys share the {scope} hash tag, so the call touches one Redis Cluster slot. The first write is the
-- XADD: if Redis refuses writes (OOM under noeviction) the script fails before changing anything.
local stream = KEYS[1]
local meta = KEYS[2]
local max_len = ARGV[1]
local max_age_ms = tonumber(ARGV[2])
local dedup_ttl_ms = ARGV[3]
local new_epoch = ARGV[4]
local first_event_arg = 5

local fresh = redis.call('EXISTS', stream) == 0
local epoch = false
if not fresh then
    epoch = redis.call('HGET', meta, 'epoch')
end

local reply = { false }
local last_added = nil
for i = 1, #KEYS - 2 do
    local dedup_key = KEYS[2 + i]
    local arg = first_event_arg + 3 * (i - 1)
    local original = redis.call('GET', dedup_key)
    if original then
        reply[#reply + 1] = original
        reply[#reply + 1] = 1
    else
        local entry_id = redis.call('XADD', stream, 'MAXLEN', '~', max_len, '*',
            'id', ARGV[arg], 'type', ARGV[arg + 1], 'event', ARGV[arg + 2])
        redis.call('SET', dedup_key, entry_id, 'PX', dedup_ttl_ms)
        reply[#reply + 1] = entry_id
        reply[#reply + 1] = 0
        last_added = entry_id
    end
end

if last_added then
    -- A stream that did not exist (never did, or was lost) starts a new epoch: cursors into the old one
    -- must not be taken for positions in this one. A stream whose meta was lost gets one too.
    if not epoch then
        epoch = new_epoch
        redis.call('HSET', meta, 'epoch', epoch)
    end
    if max_age_ms > 0 then
        local newest_ms = tonumber(string.match(last_added, '^(%d+)-'))
        -- %d formatting: tostring() would print large numbers in exponent form.
        redis.call('XTRIM', stream, 'MINID', '~', string.format('%d', newest_ms - max_age_ms))
    end
end

reply[1] = epoch
return reply

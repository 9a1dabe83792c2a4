-- Appends events to one scope's timeline, atomically, skipping those already there, then applies retention.
--
-- KEYS[1]      the scope's stream                      alimi:tl:{mall:1}
-- KEYS[2]      the scope's meta hash                   alimi:tl:{mall:1}:meta
-- KEYS[2 + i]  the dedup key of event i                alimi:tl:{mall:1}:ev:<event id>
-- ARGV[1]      entries to keep (max length)
-- ARGV[2]      maximum age in milliseconds, measured back from the newest entry
-- ARGV[3]      dedup key time-to-live in milliseconds
-- ARGV[4]      epoch to record if the stream does not exist yet
-- ARGV[5 + 4 * (i - 1) ...]   event i: id, type, targets, envelope JSON
--
-- Each entry holds: id, type, to (targets), ep (the stream's epoch, so a reader knows which stream an entry id
-- belongs to without another read), event (the envelope JSON).
--
-- Returns { epoch, entry id 1, duplicate 1, entry id 2, duplicate 2, ... } where duplicate is 1 when the
-- event was already in this stream (its original entry id is returned) and 0 when it was added now.
--
-- Retention is exact, applied in small batches: once the stream holds max length plus 1 % (at least 1, at most
-- 100) entries, the oldest are removed down to max length; entries older than the age bound are removed too,
-- checked at most once per 1 % of the age bound (the meta hash's 'aged' holds when it was last checked).
-- The newest removed id is kept in the meta hash as 'trimmed', so a reader can tell exactly whether a position
-- has lost entries after it. All keys share the {scope} hash tag: one Redis Cluster slot per call. The first
-- write is the XADD: if Redis refuses writes (OOM under noeviction) the call fails before changing anything.
local stream = KEYS[1]
local meta = KEYS[2]
local max_len = tonumber(ARGV[1])
local max_age_ms = tonumber(ARGV[2])
local dedup_ttl_ms = ARGV[3]
local new_epoch = ARGV[4]
local first_event_arg = 5
local max_trim_read = 1000

local function parse_id(id)
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    return tonumber(ms), tonumber(seq)
end

local function later(a, b)
    local a_ms, a_seq = parse_id(a)
    local b_ms, b_seq = parse_id(b)
    return a_ms > b_ms or (a_ms == b_ms and a_seq > b_seq)
end

local fresh = redis.call('EXISTS', stream) == 0
local epoch = false
local aged = 0
if not fresh then
    local fields = redis.call('HMGET', meta, 'epoch', 'aged')
    epoch = fields[1]
    aged = tonumber(fields[2]) or 0
end
-- A stream that did not exist (never did, or was lost) starts a new epoch: positions in the old one must not be
-- taken for positions in this one. A stream whose meta was lost gets one too. Recorded after the first XADD.
local new_stream_epoch = not epoch
if new_stream_epoch then
    epoch = new_epoch
end

local reply = { false }
local last_added = nil
for i = 1, #KEYS - 2 do
    local dedup_key = KEYS[2 + i]
    local arg = first_event_arg + 4 * (i - 1)
    local original = redis.call('GET', dedup_key)
    if original then
        reply[#reply + 1] = original
        reply[#reply + 1] = 1
    else
        local entry_id = redis.call('XADD', stream, '*',
            'id', ARGV[arg], 'type', ARGV[arg + 1], 'to', ARGV[arg + 2], 'ep', epoch, 'event', ARGV[arg + 3])
        redis.call('SET', dedup_key, entry_id, 'PX', dedup_ttl_ms)
        reply[#reply + 1] = entry_id
        reply[#reply + 1] = 0
        last_added = entry_id
    end
end

if last_added then
    if fresh then
        -- The old stream's trim mark goes with it.
        redis.call('HDEL', meta, 'trimmed')
    end
    if new_stream_epoch then
        redis.call('HSET', meta, 'epoch', epoch)
    end

    local trimmed = nil
    local slack = math.min(100, math.max(1, math.floor(max_len / 100)))
    local length = redis.call('XLEN', stream)
    if length >= max_len + slack then
        local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', math.min(length - max_len, max_trim_read))
        trimmed = oldest[#oldest][1]
    end
    local newest_ms = parse_id(last_added)
    if max_age_ms > 0 and newest_ms - aged >= math.floor(max_age_ms / 100) then
        -- %d: tostring() would print large numbers in exponent form.
        local cutoff = string.format('%d', newest_ms - max_age_ms)
        local expired = redis.call('XREVRANGE', stream, '(' .. cutoff .. '-0', '-', 'COUNT', 1)
        if #expired > 0 and (trimmed == nil or later(expired[1][1], trimmed)) then
            trimmed = expired[1][1]
        end
        redis.call('HSET', meta, 'aged', string.format('%d', newest_ms))
    end
    if trimmed then
        local ms, seq = parse_id(trimmed)
        -- MINID removes every entry below the bound: everything up to and including 'trimmed'.
        redis.call('XTRIM', stream, 'MINID', string.format('%d-%d', ms, seq + 1))
        redis.call('HSET', meta, 'trimmed', trimmed)
    end
end

if not last_added and new_stream_epoch then
    -- Nothing was added (all duplicates of a lost stream): no stream, no epoch.
    epoch = false
end
reply[1] = epoch
return reply

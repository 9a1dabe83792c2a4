-- Appends events to one scope's timeline, atomically, skipping those already there, then applies retention.
--
-- KEYS[1]          the scope's stream                              alimi:tl:{mall:1}
-- KEYS[2]          the scope's meta hash                           alimi:tl:{mall:1}:meta
-- KEYS[1 + 2 * i]  the dedup key of event i (its source and id)    alimi:tl:{mall:1}:sid:<digest>
-- KEYS[2 + 2 * i]  event i's dedup key as written before sources   alimi:tl:{mall:1}:ev:<event id>
--                  counted: read only while such keys may still exist (see 'legacy' below)
-- ARGV[1]          entries to keep (max length)
-- ARGV[2]          maximum age in milliseconds, measured back from the newest entry
-- ARGV[3]          dedup key time-to-live in milliseconds
-- ARGV[4]          1 when the last key is a requirement, else 0: the dedup key of the last event of the chunk
--                  before this one, which must exist (see below)
-- ARGV[5 + 5 * (i - 1) ...]   event i: id, source, type, targets, envelope JSON
--
-- The chunks of one scope are sent without waiting for each other's answers (pipelined). A chunk that requires
-- its predecessor's last event refuses to write anything, with an error starting ALIMI_OUT_OF_ORDER, unless that
-- event is in the stream: if a chunk fails, no later chunk of the same append lands before it is retried, however
-- the calls are delivered, re-sent or redirected.
--
-- Each entry holds: id, src (source), type, to (targets), ep (the stream's epoch, so a reader knows which stream
-- an entry id belongs to without another read), prev (the entry before it in this stream, 0-0 for the first: a
-- reader that finds prev beyond its position knows the entries in between were trimmed), event (the envelope).
--
-- The epoch is the stream's creation time in milliseconds (Redis clock): the first entry of a new stream gets the
-- explicit id <epoch>-0, so every entry of a stream is at or after its epoch and a position before the epoch
-- cannot be in this stream. Streams created before epochs were times keep their random epoch (below 2^32).
--
-- Returns { epoch, entry id 1, duplicate 1, entry id 2, duplicate 2, ... } where duplicate is 1 when the
-- event (same source and id) was already in this stream (its original entry id is returned) and 0 when it was
-- added now.
--
-- Retention is exact, applied in small batches: once the stream holds max length plus 1 % (at least 1, at most
-- 100) entries, the oldest are removed down to max length, without reading them (the first kept entry's 'prev'
-- names the newest removed); entries older than the age bound are removed too,
-- checked at most once per 1 % of the age bound (the meta hash's 'aged' holds when it was last checked).
-- The newest removed id is kept in the meta hash as 'trimmed', so a reader can tell exactly whether a position
-- has lost entries after it. All keys share the {scope} hash tag: one Redis Cluster slot per call. The first
-- write is the XADD: if Redis refuses writes (OOM under noeviction) the call fails before changing anything.
local stream = KEYS[1]
local meta = KEYS[2]
local max_len = tonumber(ARGV[1])
local max_age_ms = tonumber(ARGV[2])
local dedup_ttl_ms = ARGV[3]
local requires = tonumber(ARGV[4])
local first_event_arg = 5
local max_trim_read = 1000
local legacy_epoch_bound = 4294967296

local function parse_id(id)
    local ms, seq = string.match(id, '^(%d+)-(%d+)$')
    return tonumber(ms), tonumber(seq)
end

local function later(a, b)
    local a_ms, a_seq = parse_id(a)
    local b_ms, b_seq = parse_id(b)
    return a_ms > b_ms or (a_ms == b_ms and a_seq > b_seq)
end

-- A field of a stored entry, or nil.
local function field_of(fields, name)
    for f = 1, #fields, 2 do
        if fields[f] == name then
            return fields[f + 1]
        end
    end
    return nil
end

-- The source of a stored entry: its src field, or for entries stored before it, the envelope's.
local function source_of(fields)
    local source = field_of(fields, 'src')
    if source then
        return source
    end
    local envelope = field_of(fields, 'event')
    if envelope then
        local ok, decoded = pcall(cjson.decode, envelope)
        if ok and type(decoded) == 'table' and type(decoded['source']) == 'string' then
            return decoded['source']
        end
    end
    return nil
end

-- The server's clock, read only when needed (a new epoch, the window of older dedup keys): most calls do not.
local now_ms = nil
local function now()
    if not now_ms then
        local time = redis.call('TIME')
        now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    end
    return now_ms
end

if requires == 1 and redis.call('EXISTS', KEYS[#KEYS]) == 0 then
    return redis.error_reply('ALIMI_OUT_OF_ORDER the chunk before this one is not in the stream')
end

local fresh = redis.call('EXISTS', stream) == 0
local epoch = false
local aged = 0
local last = false
local sources_since = false
if not fresh then
    local fields = redis.call('HMGET', meta, 'epoch', 'aged', 'last', 'sid')
    epoch = fields[1]
    aged = tonumber(fields[2]) or 0
    last = fields[3]
    sources_since = fields[4]
end
-- A stream that did not exist (never did, or was lost) starts a new epoch: positions in the old one must not be
-- taken for positions in this one. A stream whose meta was lost gets one too. Recorded after the first XADD.
local new_stream_epoch = not epoch
local first_id = '*'
if new_stream_epoch then
    local created = now()
    if fresh then
        -- A stream lost while its meta was not (deleted by hand, say): its successor starts after everything the
        -- old one held, even within the same millisecond, so no position in the old one is taken for the new.
        local old_last = redis.call('HGET', meta, 'last')
        if old_last then
            created = math.max(created, parse_id(old_last) + 1)
        end
    end
    epoch = string.format('%d', created)
    if fresh then
        first_id = epoch .. '-0'
    end
end
-- Dedup keys written before events were told apart by source as well as id ('ev' keys, by id alone) are read
-- while they may still exist: in a stream whose epoch predates this script, for one dedup window after its first
-- append by it. A match counts only if the stored entry has the same source.
local legacy = tonumber(epoch) < legacy_epoch_bound
        and (not sources_since or now() - tonumber(sources_since) < tonumber(dedup_ttl_ms))
if not fresh and not last then
    -- A stream written before 'last' was kept: its newest entry, once.
    local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
    if #newest > 0 then
        last = newest[1][1]
    end
end
local prev = last or '0-0'

local reply = { false }
local last_added = nil
local events = (#KEYS - 2 - requires) / 2
for i = 1, events do
    local dedup_key = KEYS[1 + 2 * i]
    local arg = first_event_arg + 5 * (i - 1)
    local source = ARGV[arg + 1]
    local original = redis.call('GET', dedup_key)
    if not original and legacy then
        local older = redis.call('GET', KEYS[2 + 2 * i])
        if older then
            local stored = redis.call('XRANGE', stream, older, older)
            -- Trimmed since: it cannot be told apart any more, and a second copy is the worse mistake.
            if #stored == 0 or source_of(stored[1][2]) == source then
                original = older
            end
        end
    end
    if original then
        reply[#reply + 1] = original
        reply[#reply + 1] = 1
    else
        local entry_id = redis.call('XADD', stream, first_id,
            'id', ARGV[arg], 'src', source, 'type', ARGV[arg + 2], 'to', ARGV[arg + 3], 'ep', epoch,
            'prev', prev, 'event', ARGV[arg + 4])
        first_id = '*'
        redis.call('SET', dedup_key, entry_id, 'PX', dedup_ttl_ms)
        reply[#reply + 1] = entry_id
        reply[#reply + 1] = 0
        last_added = entry_id
        prev = entry_id
    end
end

if last_added then
    if fresh then
        -- The old stream's trim mark goes with it.
        redis.call('HDEL', meta, 'trimmed', 'sid')
    end
    if new_stream_epoch then
        redis.call('HSET', meta, 'epoch', epoch)
    end
    redis.call('HSET', meta, 'last', last_added)
    if legacy and not sources_since then
        redis.call('HSET', meta, 'sid', string.format('%d', now()))
    end

    local trimmed = nil
    local slack = math.min(100, math.max(1, math.floor(max_len / 100)))
    local length = redis.call('XLEN', stream)
    if length >= max_len + slack then
        -- Every entry names the one before it ('prev'), so once the oldest are gone the first kept entry names the
        -- newest removed one: two entries read, whatever the number removed. A stream whose oldest entry predates
        -- 'prev' is read up to its trim point instead, at most max_trim_read entries a call.
        local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
        if field_of(oldest[1][2], 'prev') then
            redis.call('XTRIM', stream, 'MAXLEN', max_len)
            trimmed = field_of(redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1][2], 'prev')
        else
            local removed = redis.call('XRANGE', stream, '-', '+', 'COUNT', math.min(length - max_len, max_trim_read))
            trimmed = removed[#removed][1]
        end
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

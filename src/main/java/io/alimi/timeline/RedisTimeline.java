package io.alimi.timeline;

import io.alimi.event.Envelope;
import io.alimi.event.EventId;
import io.alimi.event.Scope;
import io.alimi.observe.LogThrottle;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.logging.Logger;

/**
 * The timeline in Redis Streams: one stream per scope, appended by {@code redis/lua/timeline_append.lua}.
 *
 * <p>An append groups its events by scope and sends each scope's events in chunks, one Lua call per chunk, all
 * pipelined on the connection: one hot scope is not held to a chunk per round trip. Order holds anyway: a chunk
 * writes nothing unless the last event of the chunk before it is in the stream (the script checks its dedup key),
 * so a failure can never let a later event of a scope land before an earlier one; the append fails and is
 * retried from the start, the events already stored coming back as duplicates. {@link #appendAfter} extends the
 * same requirement to the first chunk of each scope, naming the previous append's last event there.
 */
public final class RedisTimeline implements Timeline {

    private static final Logger LOG = Logger.getLogger(RedisTimeline.class.getName());
    /** Events per Lua call: large enough to amortise the round trip, small enough not to stall Redis (~1 ms). */
    static final int CHUNK = 128;
    private static final int FIXED_ARGS = 4;
    private static final byte[] NO_REQUIREMENT = {'0'};
    private static final byte[] REQUIREMENT = {'1'};
    private static final int ARGS_PER_EVENT = 5;

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final Retention retention;
    /** ARGV 1 to 3 of every append: the same for every call. */
    private final byte[][] retentionArgs;
    private final byte[] pushCap;
    private final LuaScript appendScript = LuaScript.load("timeline_append");
    private final LuaScript boundsScript = LuaScript.load("timeline_bounds");
    private final LuaScript headsScript = LuaScript.load("timeline_heads");
    private final LuaScript idsScript = LuaScript.load("timeline_ids");
    /** Scopes per {@code timeline_heads} call: one call stays well under a millisecond of Redis time. */
    static final int HEADS_PER_CALL = 256;
    private final RedisLink link;
    private final LuaScript pushScript = LuaScript.load("push_enqueue");

    /** What appends cost and produce, shared by a node's timelines, for metrics. */
    public record Meters(io.alimi.observe.Histogram appendLatency, java.util.concurrent.atomic.LongAdder entries,
                         java.util.concurrent.atomic.LongAdder duplicates, java.util.concurrent.atomic.LongAdder pushDropped,
                         java.util.concurrent.atomic.LongAdder notReplicated) {
        public Meters() {
            this(new io.alimi.observe.Histogram(), new java.util.concurrent.atomic.LongAdder(),
                    new java.util.concurrent.atomic.LongAdder(), new java.util.concurrent.atomic.LongAdder(),
                    new java.util.concurrent.atomic.LongAdder());
        }
    }

    private final Meters meters;
    private final Durability durability;

    public RedisTimeline(RedisLink connection, Keys keys, Retention retention, Meters meters) {
        this(connection, keys, retention, meters, Durability.NONE);
    }

    /**
     * @param connection with {@code durability} waiting, a connection of this timeline's own: Redis {@code WAIT}
     *                   counts the writes of its connection and holds the connection while it waits
     */
    public RedisTimeline(RedisLink connection, Keys keys, Retention retention, Meters meters, Durability durability) {
        this.durability = durability;
        this.meters = meters;
        this.link = connection;
        this.redis = connection.async();
        this.keys = keys;
        this.retention = retention;
        this.retentionArgs = new byte[][] {
                ascii(Integer.toString(retention.maxLength())),
                ascii(Long.toString(retention.maxAge().toMillis())),
                ascii(Long.toString(retention.dedupTtl().toMillis()))};
        this.pushCap = ascii(Integer.toString(retention.pushQueueMaxLength()));
    }

    public Keys keys() {
        return keys;
    }

    @Override
    public Appending appendAfter(List<Envelope> events, Tail previous) {
        long started = System.nanoTime();
        Map<Scope, List<Slot>> byScope = new LinkedHashMap<>();
        for (int e = 0; e < events.size(); e++) {
            List<Scope> targets = events.get(e).targets();
            for (int t = 0; t < targets.size(); t++) {
                byScope.computeIfAbsent(targets.get(t), s -> new ArrayList<>()).add(new Slot(e, t));
            }
        }
        Placement[][] placements = new Placement[events.size()][];
        Prepared[] prepared = new Prepared[events.size()];
        for (int e = 0; e < events.size(); e++) {
            placements[e] = new Placement[events.get(e).targets().size()];
            prepared[e] = new Prepared(events.get(e));
        }
        List<CompletableFuture<Void>> scopes = new ArrayList<>(byScope.size());
        Map<Scope, EventId> last = new java.util.HashMap<>(byScope.size() * 2);
        byScope.forEach((scope, slots) -> {
            EventId before = previous.last().get(scope);
            scopes.add(appendChunks(scope, slots, before, prepared, placements));
            Envelope newest = events.get(slots.get(slots.size() - 1).event());
            last.put(scope, new EventId(newest.source(), newest.id()));
        });
        CompletableFuture<Void> appended = CompletableFuture.allOf(scopes.toArray(CompletableFuture[]::new));
        List<Envelope> pushes = events.stream().filter(Envelope::push).toList();
        if (!pushes.isEmpty()) {
            // After the timeline: a push names entries that exist. Retried with the append, added once.
            appended = appended.thenCompose(done -> enqueuePushes(pushes));
        }
        if (durability.waits()) {
            appended = appended.thenCompose(done -> replicated());
        }
        return new Appending(appended.thenApply(done -> {
            meters.appendLatency().record((System.nanoTime() - started) / 1_000_000);
            List<Appended> results = new ArrayList<>(events.size());
            for (int e = 0; e < events.size(); e++) {
                results.add(new Appended(events.get(e).id(), events.get(e).source(), List.of(placements[e])));
                for (Placement placement : placements[e]) {
                    (placement.duplicate() ? meters.duplicates() : meters.entries()).increment();
                }
            }
            return results;
        }), new Tail(last));
    }

    /**
     * What an event brings to each of its scopes' Lua calls, worked out once per event rather than once per target:
     * an event to four scopes would otherwise hash its identity four times.
     */
    private static final class Prepared {
        final String keyText;
        final String id;
        final byte[][] args = new byte[ARGS_PER_EVENT][];

        Prepared(Envelope event) {
            keyText = new EventId(event.source(), event.id()).keyText();
            id = event.id();
            args[0] = event.id().getBytes(StandardCharsets.UTF_8);
            args[1] = event.source().getBytes(StandardCharsets.UTF_8);
            args[2] = ascii(event.type());
            args[3] = ascii(targets(event));
            args[4] = event.json();
        }
    }

    /**
     * Sends a scope's chunks at once, each requiring the one before it, the first requiring {@code before} (the
     * previous append's last event in this scope) if there is one (see the class comment).
     */
    private CompletableFuture<Void> appendChunks(Scope scope, List<Slot> slots, EventId before, Prepared[] events,
                                                 Placement[][] placements) {
        String stream = keys.stream(scope);
        List<CompletableFuture<Void>> chunks = new ArrayList<>((slots.size() + CHUNK - 1) / CHUNK);
        String required = before == null ? null : keys.dedupInStream(stream, before.keyText());
        for (int from = 0; from < slots.size(); from += CHUNK) {
            List<Slot> chunk = slots.subList(from, Math.min(from + CHUNK, slots.size()));
            chunks.add(appendChunk(scope, stream, chunk, required, events, placements));
            required = keys.dedupInStream(stream, events[chunk.get(chunk.size() - 1).event()].keyText);
        }
        return chunks.size() == 1 ? chunks.get(0) : CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new));
    }

    private CompletableFuture<Void> appendChunk(Scope scope, String stream, List<Slot> chunk, String required,
                                                Prepared[] events, Placement[][] placements) {
        String[] keyArgs = new String[2 + 2 * chunk.size() + (required == null ? 0 : 1)];
        byte[][] args = new byte[FIXED_ARGS + ARGS_PER_EVENT * chunk.size()][];
        keyArgs[0] = stream;
        keyArgs[1] = keys.meta(scope);
        System.arraycopy(retentionArgs, 0, args, 0, retentionArgs.length);
        args[3] = required == null ? NO_REQUIREMENT : REQUIREMENT;
        for (int i = 0; i < chunk.size(); i++) {
            Prepared event = events[chunk.get(i).event()];
            keyArgs[2 + 2 * i] = keys.dedupInStream(stream, event.keyText);
            keyArgs[3 + 2 * i] = keys.legacyDedupInStream(stream, event.id);
            System.arraycopy(event.args, 0, args, FIXED_ARGS + ARGS_PER_EVENT * i, ARGS_PER_EVENT);
        }
        if (required != null) {
            keyArgs[keyArgs.length - 1] = required;
        }
        CompletableFuture<List<Object>> call = appendScript.call(redis, ScriptOutputType.MULTI, keyArgs, args);
        return call.thenAccept(reply -> {
            for (int i = 0; i < chunk.size(); i++) {
                Slot slot = chunk.get(i);
                StreamId id = StreamId.parse(text(reply.get(1 + 2 * i)));
                boolean duplicate = ((Long) reply.get(2 + 2 * i)) == 1L;
                placements[slot.event()][slot.target()] = new Placement(scope, id, duplicate);
            }
        });
    }

    private CompletableFuture<Void> enqueuePushes(List<Envelope> pushes) {
        String[] keyArgs = new String[2 + 2 * pushes.size()];
        byte[][] args = new byte[2 + 2 * pushes.size()][];
        keyArgs[0] = keys.pushQueue();
        keyArgs[1] = keys.pushDropped();
        args[0] = retentionArgs[2];
        args[1] = pushCap;
        for (int i = 0; i < pushes.size(); i++) {
            keyArgs[2 + 2 * i] = keys.pushDedup(new EventId(pushes.get(i).source(), pushes.get(i).id()));
            keyArgs[3 + 2 * i] = keys.legacyPushDedup(pushes.get(i).id());
            args[2 + 2 * i] = pushes.get(i).id().getBytes(StandardCharsets.UTF_8);
            args[3 + 2 * i] = pushes.get(i).json();
        }
        return pushScript.<List<Object>>call(redis, ScriptOutputType.MULTI, keyArgs, args).thenAccept(reply -> {
            long dropped = (Long) reply.get(1);
            if (dropped > 0) {
                meters.pushDropped().add(dropped);
                warnDropped();
            }
        });
    }

    /**
     * Waits until the required replicas hold what this connection wrote. A duplicate found by a retry through
     * another connection (another node; the bridge after an HTTP attempt) wrote nothing new, yet its original may
     * not be replicated: {@code WAIT} still covers it, because the retry's own script call moves the connection's
     * replication offset to the master's (checked on Redis 6.2 and 7.0 by {@code DurableAppendIT}).
     */
    private CompletableFuture<Void> replicated() {
        return redis.waitForReplication(durability.minReplicas(), durability.timeout().toMillis()).toCompletableFuture()
                .thenAccept(reached -> {
                    if (reached < durability.minReplicas()) {
                        meters.notReplicated().increment();
                        throw new CompletionException(new Durability.NotReplicatedException(reached, durability));
                    }
                });
    }

    private final LogThrottle dropWarnings = new LogThrottle(java.time.Duration.ofMinutes(1));

    /** At most once a minute: the queue is at its cap, pushes are being dropped. */
    private void warnDropped() {
        if (dropWarnings.due() >= 0) {
            LOG.warning(() -> "the push queue " + keys.pushQueue() + " is at its cap ("
                    + retention.pushQueueMaxLength() + ", alimi.push.queue-max-length): its oldest pushes are being "
                    + "dropped (" + meters.pushDropped().sum() + " by this node so far; their events stay on the "
                    + "timelines). Is a node with the push role running and keeping up?");
        }
    }

    @Override
    public CompletableFuture<List<Entry>> readAfter(Scope scope, StreamId after, int limit) {
        Range<String> range = Range.create(after.next().toString(), "+");
        return redis.xrange(keys.stream(scope), range, Limit.from(limit)).toCompletableFuture()
                .thenApply(RedisTimeline::entries);
    }

    @Override
    public CompletableFuture<List<Entry>> readBefore(Scope scope, StreamId before, int limit) {
        String upper = before == null ? "+" : before.previous().toString();
        if (before != null && before.equals(StreamId.ZERO)) {
            return CompletableFuture.completedFuture(List.of());
        }
        Range<String> range = Range.create("-", upper);
        return redis.xrevrange(keys.stream(scope), range, Limit.from(limit)).toCompletableFuture()
                .thenApply(RedisTimeline::entries);
    }

    @Override
    public CompletableFuture<List<Entry>> readNewest(Scope scope, StreamId after, StreamId before, int limit) {
        if (before != null && before.compareTo(after.next()) <= 0) {
            return CompletableFuture.completedFuture(List.of());
        }
        Range<String> range = Range.create(after.next().toString(), before == null ? "+" : before.previous().toString());
        return redis.xrevrange(keys.stream(scope), range, Limit.from(limit)).toCompletableFuture()
                .thenApply(RedisTimeline::entries);
    }

    @Override
    public CompletableFuture<List<EntryRef>> idsNewest(Scope scope, StreamId after, StreamId before, int limit) {
        if (before != null && before.compareTo(after.next()) <= 0) {
            return CompletableFuture.completedFuture(List.of());
        }
        CompletableFuture<List<Object>> call = idsScript.call(redis, ScriptOutputType.MULTI, new String[] {keys.stream(scope)},
                bytes(before == null ? "+" : before.previous().toString()), bytes(after.next().toString()),
                bytes(Integer.toString(limit)));
        return call.thenApply(reply -> {
            List<EntryRef> refs = new ArrayList<>(reply.size() / 2);
            for (int i = 0; i + 1 < reply.size(); i += 2) {
                refs.add(new EntryRef(StreamId.parse(text(reply.get(i))), ((Number) reply.get(i + 1)).intValue()));
            }
            return refs;
        });
    }

    @Override
    public CompletableFuture<List<Entry>> readRange(Scope scope, StreamId from, StreamId through, int limit) {
        return redis.xrange(keys.stream(scope), Range.create(from.toString(), through.toString()), Limit.from(limit))
                .toCompletableFuture().thenApply(RedisTimeline::entries);
    }

    @Override
    public CompletableFuture<Void> keepScopeSet(String digest, byte[] encoded) {
        String key = keys.followedSet(digest);
        long seconds = Math.max(1, retention.dedupTtl().toSeconds());
        return redis.expire(key, seconds).toCompletableFuture().thenCompose(renewed -> renewed
                ? CompletableFuture.completedFuture(null)
                : redis.set(key, encoded, io.lettuce.core.SetArgs.Builder.ex(seconds)).toCompletableFuture()
                        .thenApply(ok -> null));
    }

    @Override
    public CompletableFuture<Optional<byte[]>> scopeSet(String digest) {
        return redis.get(keys.followedSet(digest)).toCompletableFuture().thenApply(Optional::ofNullable);
    }

    @Override
    public CompletableFuture<List<StreamHead>> heads(List<Scope> scopes) {
        // One call per slot group (a Lua call may only touch one slot of a cluster) and per HEADS_PER_CALL scopes.
        Map<Integer, List<Integer>> byGroup = new LinkedHashMap<>();
        for (int i = 0; i < scopes.size(); i++) {
            byGroup.computeIfAbsent(link.readerGroup(keys.stream(scopes.get(i))), g -> new ArrayList<>()).add(i);
        }
        StreamHead[] heads = new StreamHead[scopes.size()];
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        for (List<Integer> group : byGroup.values()) {
            for (int from = 0; from < group.size(); from += HEADS_PER_CALL) {
                List<Integer> chunk = group.subList(from, Math.min(group.size(), from + HEADS_PER_CALL));
                String[] keyArgs = new String[2 * chunk.size()];
                for (int k = 0; k < chunk.size(); k++) {
                    Scope scope = scopes.get(chunk.get(k));
                    keyArgs[2 * k] = keys.stream(scope);
                    keyArgs[2 * k + 1] = keys.meta(scope);
                }
                CompletableFuture<List<Object>> call = headsScript.call(redis, ScriptOutputType.MULTI, keyArgs);
                calls.add(call.thenAccept(reply -> {
                    long time = (Long) reply.get(reply.size() - 1);
                    for (int k = 0; k < chunk.size(); k++) {
                        heads[chunk.get(k)] = new StreamHead(Optional.ofNullable(text(reply.get(3 * k))),
                                Optional.ofNullable(text(reply.get(3 * k + 1))).map(StreamId::parse),
                                Optional.ofNullable(text(reply.get(3 * k + 2))).map(StreamId::parse), time);
                    }
                }));
            }
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(done -> List.of(heads));
    }

    @Override
    public CompletableFuture<StreamBounds> bounds(Scope scope) {
        CompletableFuture<List<Object>> call = boundsScript.call(redis, ScriptOutputType.MULTI,
                new String[] {keys.stream(scope), keys.meta(scope)});
        return call.thenApply(reply -> new StreamBounds(
                Optional.ofNullable(text(reply.get(0))),
                (Long) reply.get(1),
                Optional.ofNullable(text(reply.get(2))).map(StreamId::parse),
                Optional.ofNullable(text(reply.get(3))).map(StreamId::parse),
                Optional.ofNullable(text(reply.get(4))).map(StreamId::parse),
                (Long) reply.get(5)));
    }

    @Override
    public CompletableFuture<Optional<StreamId>> entryOf(Scope scope, EventId event) {
        // timeline_append.lua keeps the entry id of each event it added under the event's dedup key.
        return redis.get(keys.dedup(scope, event)).toCompletableFuture()
                .thenApply(value -> Optional.ofNullable(text(value)).map(StreamId::parse));
    }

    private static List<Entry> entries(List<StreamMessage<String, byte[]>> messages) {
        List<Entry> entries = new ArrayList<>(messages.size());
        for (StreamMessage<String, byte[]> message : messages) {
            entries.add(entry(message));
        }
        return entries;
    }

    /** A stream message as written by {@code timeline_append.lua}. */
    public static Entry entry(StreamMessage<String, byte[]> message) {
        Map<String, byte[]> body = message.getBody();
        return new Entry(StreamId.parse(message.getId()), text(body.get("id")), text(body.get("src")),
                text(body.get("type")), text(body.get("to")), epoch(text(body.get("ep"))), previous(text(body.get("prev"))),
                body.get("event"));
    }

    /** The event's distinct targets, comma-separated: stored with each entry so readers need not parse the JSON. */
    static String targets(Envelope event) {
        StringBuilder text = new StringBuilder();
        for (Scope scope : event.targets()) {
            text.append(text.isEmpty() ? "" : ",").append(scope);
        }
        return text.toString();
    }

    private static StreamId previous(String text) {
        try {
            return text == null ? null : StreamId.parse(text);
        } catch (IllegalArgumentException corrupt) {
            return null;
        }
    }

    private static long epoch(String text) {
        try {
            return text == null ? 0 : Long.parseLong(text);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** A bulk reply as text; null stays null. */
    private static byte[] bytes(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String text(Object bulk) {
        return bulk == null ? null : new String((byte[]) bulk, StandardCharsets.UTF_8);
    }

    /** The {@code target}-th scope of the {@code event}-th event. */
    private record Slot(int event, int target) {
    }
}

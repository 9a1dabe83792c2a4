package io.alimi.hub;

import io.alimi.retry.Backoff;
import io.alimi.event.Scope;
import io.alimi.observe.Check;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.StreamId;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.UnblockType;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's only reader of Redis on the live path: one virtual thread issuing one {@code XREAD BLOCK … COUNT …}
 * over every stream some local session follows, whatever the number of sessions, on a connection of its own. In a
 * Redis Cluster, where one command may only name keys of one slot, there is one such reader per followed slot,
 * each connected to the master serving it; stream keys carry shard tags ({@link Keys}), so that is at most one
 * reader per shard.
 *
 * <p>Each reader also tells how far it is <em>complete</em> ({@link Progress}): with every XREAD it asks the server's
 * clock ({@code TIME}, pipelined just before), and once the reply is handed to the hub, every stream that XREAD
 * covered has been read through the millisecond before that time (stream ids are that clock: anything appended
 * later has that millisecond or a later one), except a stream whose reply was cut at {@code COUNT}, which is read
 * only through its last entry. Sessions use it to move their cursor's watermark.
 *
 * <p>When a session needs a stream not read yet, the tailer must not wait out its BLOCK: the blocked XREAD is
 * cancelled with {@code CLIENT UNBLOCK} (sent on another connection) and re-issued with the new key at once.
 * Streams nobody follows any more are dropped from the next XREAD. Positions only move forward; on a Redis outage
 * the tailer backs off and resumes from them. When a cluster slot moves (MOVED or ASK, or any failure in a
 * cluster), the slot map is reloaded and each stream is read from the server that serves it now.
 */
final class Tailer {

    private static final Logger LOG = Logger.getLogger(Tailer.class.getName());
    private static final Duration MIN_BACKOFF = Duration.ofMillis(50);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

    private final Hub hub;
    private final Keys keys;
    private final RedisLink link;
    private final RedisLink control;
    private final RelaySettings settings;
    private final Map<Scope, StreamId> positions = new ConcurrentHashMap<>();
    /** Stream key of each followed scope and the reader it belongs to, worked out once. */
    private final Map<Scope, Stream> streams = new ConcurrentHashMap<>();
    /** The readers, by {@link RedisLink#readerGroup} (a slot in a cluster), each started when first needed. */
    private final Map<Integer, Lane> lanes = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    /**
     * @param link    the tailer's own connection (its XREADs block it)
     * @param control another connection, for CLIENT UNBLOCK
     */
    Tailer(Hub hub, Keys keys, RedisLink link, RedisLink control, RelaySettings settings) {
        this.hub = hub;
        this.keys = keys;
        this.settings = settings;
        this.link = link;
        this.control = control;
    }

    void start() {
        if (!link.isCluster()) {
            lane(0);
        }
    }

    void stop() {
        running = false;
        for (Lane lane : lanes.values()) {
            lane.rearm();
        }
        for (Lane lane : lanes.values()) {
            lane.join();
        }
    }

    /**
     * Starts reading each scope after its position, or earlier if it is already read from an earlier point. All at
     * once: each reader's XREAD is rebuilt once, not once per scope (a session of 10,000 scopes would otherwise
     * have it re-issued with a growing key set thousands of times).
     */
    void follow(Map<Scope, StreamId> from) {
        java.util.Set<Integer> changed = new java.util.HashSet<>();
        for (Map.Entry<Scope, StreamId> scope : from.entrySet()) {
            Stream stream = stream(scope.getKey());
            positions.merge(scope.getKey(), scope.getValue(),
                    (current, proposed) -> current.compareTo(proposed) <= 0 ? current : proposed);
            changed.add(stream.group());
        }
        for (int group : changed) {
            lane(group).changed();
        }
    }

    /** Stops reading {@code scope} (from the next XREAD on). */
    void unfollow(Scope scope) {
        positions.remove(scope);
        streams.remove(scope);
        for (Lane lane : lanes.values()) {
            lane.version.incrementAndGet();
        }
    }

    /**
     * How far {@code scope}'s stream has been read, or null if it is not followed. An entry is counted here before
     * it is handed to the hub, so a session that subscribed and then asks either gets an entry live or sees it
     * counted here (and replays it).
     */
    StreamId readThrough(Scope scope) {
        return positions.get(scope);
    }

    /** The progress of the reader that reads {@code scope}'s stream (started if it was not). */
    Progress progressOf(Scope scope) {
        return lane(stream(scope).group());
    }

    /**
     * How far one reader has read every stream it follows.
     *
     * <p>Threading: called by session writers; the tailer publishes.
     */
    interface Progress {
        /** The reader's stream set version now: an XREAD built at or after it covers every stream followed by then. */
        long version();

        /**
         * The millisecond through which every stream the reader followed at {@code since} (a {@link #version}) has
         * been read and handed to the hub, or -1 when no XREAD covering them has been answered yet.
         */
        long completeThrough(long since);

        /** Wakes {@code session} once more is complete (the next answered XREAD). */
        void wakeOnProgress(Session session);
    }

    /** A reader's completeness: through {@code millis}, for streams followed by {@code version}. */
    private record Complete(long millis, long version) {
    }

    /** XREAD calls made so far: the live path's Redis commands (one CLIENT ID goes with each). */
    long reads() {
        long total = 0;
        for (Lane lane : lanes.values()) {
            total += lane.reads.get();
        }
        return total;
    }

    Check health() {
        if (lanes.isEmpty()) {
            return Check.up("tailer", "following no stream");
        }
        for (Lane lane : lanes.values()) {
            if (!lane.health.up()) {
                return lane.health;
            }
        }
        return Check.up("tailer", "following " + positions.size() + " streams"
                + (link.isCluster() ? " in " + lanes.size() + " Redis Cluster slots" : ""));
    }

    /** A followed stream: its key, and its {@link RedisLink#readerGroup} (fixed by the key: a slot never changes). */
    private record Stream(String key, int group) {
    }

    private Stream stream(Scope scope) {
        return streams.computeIfAbsent(scope, followed -> {
            String key = keys.stream(followed);
            return new Stream(key, link.readerGroup(key));
        });
    }

    private Lane lane(int group) {
        return lanes.computeIfAbsent(group, id -> {
            Lane lane = new Lane(id);
            lane.start();
            return lane;
        });
    }

    private Duration readTimeout() {
        return settings.tailBlock().plusSeconds(10);
    }

    private record Blocked(long read, long clientId) {
    }

    private record Offset(StreamId at, XReadArgs.StreamOffset<String> offset) {
    }

    /** The reader of one group's streams (all streams outside a cluster; one slot's in a cluster). */
    private final class Lane implements Runnable, Progress {

        private final int group;
        private final AtomicLong version = new AtomicLong();
        private volatile Complete complete = new Complete(-1, -1);
        private final java.util.concurrent.ConcurrentLinkedQueue<Session> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final AtomicLong unblocked = new AtomicLong(-1);
        private final AtomicLong reads = new AtomicLong();
        /** The XREAD now blocking, if any: which one (the read count) and on which Redis client. */
        private volatile Blocked blocked;
        private volatile Thread thread;
        private volatile Check health = Check.up("tailer", "starting");
        /** The server this lane reads from, and its connection there (blocked by the XREAD). */
        private volatile String server;
        private StatefulRedisConnection<String, byte[]> connection;

        /** Only the lane's thread uses it. */
        private final Map<Scope, Offset> cachedOffsets = new HashMap<>();

        Lane(int group) {
            this.group = group;
        }

        void start() {
            thread = Thread.ofVirtual().name("alimi-tailer-" + group).start(this);
        }

        void join() {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
                try {
                    t.join(settings.tailBlock().plusSeconds(5).toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public long version() {
            return version.get();
        }

        @Override
        public long completeThrough(long since) {
            Complete now = complete;
            return now.version() >= since ? now.millis() : -1;
        }

        @Override
        public void wakeOnProgress(Session session) {
            waiting.add(session);
        }

        /** After a reply has been handed to the hub: publish how far it is complete, then wake who waits for it. */
        private void completed(long millis, long armedVersion) {
            complete = new Complete(millis, armedVersion);
            for (Session session = waiting.poll(); session != null; session = waiting.poll()) {
                session.wake();
            }
        }

        /** Its set of streams changed: the next XREAD must include the change. */
        void changed() {
            version.incrementAndGet();
            rearm();
        }

        void rearm() {
            Blocked now = blocked;
            if (now != null && unblocked.getAndSet(now.read()) != now.read()) {
                try {
                    control.server(server).clientUnblock(now.clientId(), UnblockType.TIMEOUT);
                } catch (RuntimeException gone) {
                    // The server left the cluster: its XREAD fails or times out by itself.
                }
            }
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }

        @Override
        public void run() {
            try {
                read();
            } finally {
                close();
            }
        }

        private void read() {
            Backoff backoff = new Backoff(MIN_BACKOFF, MAX_BACKOFF);
            while (running) {
                try {
                    if (!readOnce()) {
                        LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
                        continue;
                    }
                    if (!health.up()) {
                        LOG.log(Level.INFO, "tailer reading again ({0})", where());
                    }
                    health = Check.up("tailer", "reading");
                    backoff.reset();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (Exception e) {
                    blocked = null;
                    if (!running) {
                        return;
                    }
                    if (health.up()) {
                        LOG.log(Level.WARNING, "tailer cannot read from Redis ({0}: {1}); retrying",
                                new Object[] {where(), describe(e)});
                        health = Check.down("tailer", "failing since " + Instant.now() + ": " + describe(e));
                    }
                    if (link.isCluster()) {
                        // A moved slot (MOVED, ASK) or a failed-over master: read the slot map again, and read from
                        // the server that serves the slot now.
                        try {
                            link.refreshTopology();
                        } catch (RuntimeException refresh) {
                            LOG.log(Level.FINE, "cannot reload the Redis Cluster slot map yet", refresh);
                        }
                    }
                    LockSupport.parkNanos(this, backoff.nextNanos());
                }
            }
        }

        /**
         * The XREAD argument for a stream at a position, made once per position: a read covers every followed
         * stream, most of which have not moved since the last one.
         */
        private XReadArgs.StreamOffset<String> offset(Scope scope, String key, StreamId at) {
            Offset cached = cachedOffsets.get(scope);
            if (cached == null || !cached.at().equals(at)) {
                cached = new Offset(at, XReadArgs.StreamOffset.from(key, at.toString()));
                cachedOffsets.put(scope, cached);
            }
            return cached.offset();
        }

        /** One XREAD over this server's followed streams; false if it serves none. */
        @SuppressWarnings("unchecked")
        private boolean readOnce() throws InterruptedException, ExecutionException, TimeoutException {
            long armedVersion = version.get();
            Map<String, Scope> byKey = new HashMap<>();
            List<XReadArgs.StreamOffset<String>> offsets = new ArrayList<>();
            for (Map.Entry<Scope, StreamId> position : positions.entrySet()) {
                Stream stream = stream(position.getKey());
                if (stream.group() != group) {
                    continue;
                }
                byKey.put(stream.key(), position.getKey());
                offsets.add(offset(position.getKey(), stream.key(), position.getValue()));
            }
            if (cachedOffsets.size() > 2 * byKey.size() + 64) {
                // Streams no longer followed: keep what the next reads use, so the cache stays the size of the set.
                cachedOffsets.keySet().retainAll(new java.util.HashSet<>(byKey.values()));
            }
            if (offsets.isEmpty()) {
                return false;
            }
            RedisClusterAsyncCommands<String, byte[]> redis = connect().async();
            // Pipelined: the id is known before the XREAD starts to block, the clock is read just before it.
            RedisFuture<Long> clientId = redis.clientId();
            RedisFuture<List<byte[]>> time = redis.time();
            RedisFuture<List<StreamMessage<String, byte[]>>> read = redis.xread(
                    XReadArgs.Builder.block(settings.tailBlock().toMillis()).count(settings.tailCount()),
                    offsets.toArray(XReadArgs.StreamOffset[]::new));
            long readNumber = reads.incrementAndGet();
            long id = clientId.get(readTimeout().toMillis(), TimeUnit.MILLISECONDS);
            blocked = new Blocked(readNumber, id);
            if (version.get() != armedVersion) {
                // A session asked for a stream after this XREAD was built: start over with it.
                rearm();
            }
            List<StreamMessage<String, byte[]>> messages = read.get(readTimeout().toMillis(), TimeUnit.MILLISECONDS);
            blocked = null;
            long completeMillis = millis(time.get(readTimeout().toMillis(), TimeUnit.MILLISECONDS)) - 1;
            if (messages != null) {
                Map<String, Integer> counts = new HashMap<>();
                Map<String, StreamId> lastOf = new HashMap<>();
                for (StreamMessage<String, byte[]> message : messages) {
                    Scope scope = byKey.get(message.getStream());
                    if (scope == null) {
                        continue;
                    }
                    LiveEvent event = LiveEvent.of(scope, RedisTimeline.entry(message));
                    counts.merge(message.getStream(), 1, Integer::sum);
                    lastOf.put(message.getStream(), event.id());
                    // Only streams still followed move on; a dropped one is re-added from its new follower's position.
                    positions.computeIfPresent(scope, (key, current) -> current.compareTo(event.id()) < 0 ? event.id() : current);
                    hub.deliver(event);
                }
                for (Map.Entry<String, Integer> count : counts.entrySet()) {
                    if (count.getValue() >= settings.tailCount()) {
                        // Cut at COUNT: the rest of this stream, possibly in the same millisecond, comes next time.
                        completeMillis = Math.min(completeMillis, lastOf.get(count.getKey()).millis() - 1);
                    }
                }
            }
            completed(completeMillis, armedVersion);
            return true;
        }

        /** The connection to the server serving this lane's streams now, opened again if that server changed. */
        private StatefulRedisConnection<String, byte[]> connect() {
            String now = link.serverOf(group);
            if (connection == null || !now.equals(server)) {
                close();
                connection = link.openBlocking(now);
                connection.setTimeout(readTimeout());
                server = now;
            }
            return connection;
        }

        private void close() {
            if (connection != null && link.ownsBlocking()) {
                connection.closeAsync();
            }
            connection = null;
        }

        private String where() {
            return link.isCluster() ? "slot " + group + " on " + server : "single server";
        }
    }

    /** {@code TIME}'s reply (seconds, microseconds) in milliseconds. */
    private static long millis(List<byte[]> time) {
        long seconds = Long.parseLong(new String(time.get(0), java.nio.charset.StandardCharsets.US_ASCII));
        long micros = Long.parseLong(new String(time.get(1), java.nio.charset.StandardCharsets.US_ASCII));
        return seconds * 1000 + micros / 1000;
    }

    private static String describe(Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof RedisCommandExecutionException && String.valueOf(cause.getMessage()).startsWith("MOVED")) {
            return "slot moved: " + cause.getMessage();
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}

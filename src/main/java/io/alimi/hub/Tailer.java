package io.alimi.hub;

import io.alimi.event.Scope;
import io.alimi.observe.Check;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.StreamId;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.UnblockType;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's only reader of Redis on the live path: one virtual thread, one connection of its own, one
 * {@code XREAD BLOCK … COUNT …} over every stream some local session follows, whatever the number of sessions.
 *
 * <p>When a session needs a stream not read yet, the tailer must not wait out its BLOCK: the blocked XREAD is
 * cancelled with {@code CLIENT UNBLOCK} (sent on another connection) and re-issued with the new key at once.
 * Streams nobody follows any more are dropped from the next XREAD. Positions only move forward; on a Redis outage
 * the tailer backs off and resumes from them.
 */
final class Tailer implements Runnable {

    private static final Logger LOG = Logger.getLogger(Tailer.class.getName());
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

    private final Hub hub;
    private final Keys keys;
    private final RedisAsyncCommands<String, byte[]> redis;
    private final RedisAsyncCommands<String, byte[]> control;
    private final RelaySettings settings;
    private final Map<Scope, StreamId> positions = new ConcurrentHashMap<>();
    /** Stream key of each followed scope, built once. */
    private final Map<Scope, String> streamKeys = new ConcurrentHashMap<>();
    private final AtomicLong version = new AtomicLong();
    private final AtomicLong unblocked = new AtomicLong(-1);
    private final AtomicLong reads = new AtomicLong();
    /** The XREAD now blocking, if any: which one (the read count) and on which Redis client. */
    private volatile Blocked blocked;
    private volatile boolean running = true;
    private volatile Thread thread;
    private volatile Check health = Check.up("tailer", "starting");

    /**
     * @param connection the tailer's own connection (its XREAD blocks it)
     * @param control    another connection, for CLIENT UNBLOCK
     */
    Tailer(Hub hub, Keys keys, StatefulRedisConnection<String, byte[]> connection,
           RedisAsyncCommands<String, byte[]> control, RelaySettings settings) {
        this.hub = hub;
        this.keys = keys;
        this.settings = settings;
        this.control = control;
        // A blocked XREAD must not be taken for a hung command.
        connection.setTimeout(settings.tailBlock().plusSeconds(10));
        this.redis = connection.async();
    }

    void start() {
        thread = Thread.ofVirtual().name("alimi-tailer").start(this);
    }

    void stop() {
        running = false;
        rearm();
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

    /** Starts reading {@code scope} after {@code from}, or earlier if it is already read from an earlier point. */
    void follow(Scope scope, StreamId from) {
        streamKeys.computeIfAbsent(scope, keys::stream);
        positions.merge(scope, from, (current, proposed) -> current.compareTo(proposed) <= 0 ? current : proposed);
        version.incrementAndGet();
        rearm();
    }

    /** Stops reading {@code scope} (from the next XREAD on). */
    void unfollow(Scope scope) {
        positions.remove(scope);
        streamKeys.remove(scope);
        version.incrementAndGet();
    }

    /** XREAD calls made so far: the live path's Redis commands (one CLIENT ID goes with each). */
    long reads() {
        return reads.get();
    }

    Check health() {
        return health;
    }

    private record Blocked(long read, long clientId) {
    }

    private void rearm() {
        Blocked now = blocked;
        if (now != null && unblocked.getAndSet(now.read()) != now.read()) {
            control.clientUnblock(now.clientId(), UnblockType.TIMEOUT);
        }
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void run() {
        long backoffMillis = 50;
        while (running) {
            if (positions.isEmpty()) {
                LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
                continue;
            }
            try {
                readOnce();
                if (!health.up()) {
                    LOG.info("tailer reading again");
                }
                health = Check.up("tailer", "following " + positions.size() + " streams");
                backoffMillis = 50;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                blocked = null;
                if (!running) {
                    return;
                }
                if (health.up()) {
                    LOG.log(Level.WARNING, "tailer cannot read from Redis ({0}); retrying", describe(e));
                    health = Check.down("tailer", "failing since " + Instant.now() + ": " + describe(e));
                }
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(backoffMillis / 2
                        + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1)));
                backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.toMillis());
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void readOnce() throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        long armedVersion = version.get();
        Map<String, Scope> byKey = new HashMap<>();
        List<XReadArgs.StreamOffset<String>> offsets = new ArrayList<>(positions.size());
        for (Map.Entry<Scope, StreamId> position : positions.entrySet()) {
            String key = streamKeys.computeIfAbsent(position.getKey(), keys::stream);
            byKey.put(key, position.getKey());
            offsets.add(XReadArgs.StreamOffset.from(key, position.getValue().toString()));
        }
        if (offsets.isEmpty()) {
            return;
        }
        // Pipelined: the id is known before the XREAD starts to block.
        RedisFuture<Long> clientId = redis.clientId();
        RedisFuture<List<StreamMessage<String, byte[]>>> read = redis.xread(
                XReadArgs.Builder.block(settings.tailBlock().toMillis()).count(settings.tailCount()),
                offsets.toArray(XReadArgs.StreamOffset[]::new));
        long readNumber = reads.incrementAndGet();
        long id = clientId.get(settings.tailBlock().plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
        blocked = new Blocked(readNumber, id);
        if (version.get() != armedVersion) {
            // A session asked for a stream after this XREAD was built: start over with it.
            rearm();
        }
        List<StreamMessage<String, byte[]>> messages =
                read.get(settings.tailBlock().plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
        blocked = null;
        if (messages == null) {
            return;
        }
        for (StreamMessage<String, byte[]> message : messages) {
            Scope scope = byKey.get(message.getStream());
            if (scope == null) {
                continue;
            }
            LiveEvent event = LiveEvent.of(scope, RedisTimeline.entry(message));
            // Only streams still followed move on; a dropped one is re-added from its new follower's position.
            positions.computeIfPresent(scope, (key, current) -> current.compareTo(event.id()) < 0 ? event.id() : current);
            hub.deliver(event);
        }
    }

    private static String describe(Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}

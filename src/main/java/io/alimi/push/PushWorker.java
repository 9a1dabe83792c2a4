package io.alimi.push;

import io.alimi.inbox.Channel;
import io.alimi.inbox.PreferenceStore;
import io.alimi.inbox.Preferences;
import io.alimi.retry.Backoff;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.observe.Check;
import io.alimi.timeline.Keys;
import io.alimi.timeline.LuaScript;
import io.alimi.timeline.RedisCalls;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.alimi.timeline.RedisLink;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.models.stream.ClaimedMessages;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code push} role: sends push-flagged events to admins' phones through FCM, never losing one.
 *
 * <p>Work comes from the push stream through a Redis consumer group, so any number of nodes share it, each entry
 * going to one of them. An entry is acknowledged only once every destination has been dealt with: sent, or its
 * device token forgotten (FCM said unregistered), or — after the last retry — the entry copied to the dead-letter
 * stream. Entries a worker took and never acknowledged (it crashed, it was killed) are claimed by another after
 * {@code claim-idle}. Destinations: {@code admin:<n>} → each of that admin's devices; {@code mall}, {@code partner}
 * and {@code all} → each device of the admins in that scope's {@link PushAudience} (never an FCM topic: anyone's
 * app can subscribe to a topic), an admin's device once per event. What an entry has already reached is kept
 * in Redis, so a reclaimed entry does not reach a device twice (unless the worker died between FCM's answer and
 * writing it down).
 */
public final class PushWorker implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PushWorker.class.getName());
    public static final String GROUP = "alimi-push";

    /**
     * @param concurrency  entries in flight at once on this node
     * @param maxAttempts  sends of one destination before it is dead-lettered
     * @param backoffMin   first retry delay (doubling, jittered, up to backoffMax; FCM's Retry-After wins when longer)
     * @param claimIdle    an entry taken this long ago and not acknowledged is claimed by another worker
     * @param deadLetterMaxLength dead letters kept; beyond it the oldest are dropped
     * @param fanout       sends of one entry in flight at once (an entry to a mall goes to each of its devices)
     */
    public record Settings(int concurrency, int maxAttempts, Duration backoffMin, Duration backoffMax,
                           Duration claimIdle, Duration block, int deadLetterMaxLength, int fanout) {
        public static final Settings DEFAULTS = new Settings(32, 5, Duration.ofSeconds(1), Duration.ofMinutes(1),
                Duration.ofMinutes(1), Duration.ofSeconds(2), 10_000, 64);

        /** {@code alimi.push.*} of the worker. */
        public static Settings from(io.alimi.config.Settings settings) {
            Settings d = DEFAULTS;
            Duration backoffMin = settings.duration("alimi.push.backoff-min", d.backoffMin(), Duration.ofMillis(1), Duration.ofMinutes(10));
            return new Settings(
                    settings.integer("alimi.push.concurrency", d.concurrency(), 1, 10_000),
                    settings.integer("alimi.push.max-attempts", d.maxAttempts(), 1, 100),
                    backoffMin,
                    settings.duration("alimi.push.backoff-max", d.backoffMax(), backoffMin, Duration.ofHours(1)),
                    settings.duration("alimi.push.claim-idle", d.claimIdle(), Duration.ofMillis(100), Duration.ofHours(24)),
                    d.block(),
                    settings.integer("alimi.push.dead-letter-max-length", d.deadLetterMaxLength(), 1, 100_000_000),
                    settings.integer("alimi.push.fanout", d.fanout(), 1, 10_000));
        }
    }

    /** Counters since start, for metrics. */
    public record Stats(long sent, long retried, long failed, long deadLettered, long goneTokens, long fcmCalls,
                        long fcmNanos, long suppressed) {
    }

    private final RedisLink blocking;
    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final Devices devices;
    private final PushAudience audience;
    private final FcmClient fcm;
    private final Settings settings;
    private final String consumer = "worker-" + UUID.randomUUID();
    private final Semaphore slots;
    private final LuaScript doneScript = LuaScript.load("push_done");
    private final LuaScript sweepScript = LuaScript.load("push_sweep");
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final LongAdder sent = new LongAdder();
    private final LongAdder retried = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder deadLettered = new LongAdder();
    private final LongAdder gone = new LongAdder();
    private final LongAdder fcmCalls = new LongAdder();
    private final LongAdder fcmNanos = new LongAdder();
    /** Admins a push was not sent to because they muted it there. */
    private final LongAdder suppressed = new LongAdder();
    private final PreferenceStore preferences;
    private volatile boolean running = true;
    private volatile String lastError = "";
    private Thread reader;

    /**
     * @param blocking a connection for this worker alone (its XREADGROUP blocks it)
     * @param redis    a shared connection for everything else
     */
    public PushWorker(RedisLink blocking, RedisClusterAsyncCommands<String, byte[]> redis,
                      Keys keys, Devices devices, PushAudience audience, PreferenceStore preferences, FcmClient fcm,
                      Settings settings) {
        this.audience = audience;
        this.preferences = preferences;
        this.blocking = blocking;
        this.redis = redis;
        this.keys = keys;
        this.devices = devices;
        this.fcm = fcm;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
    }

    public void start() {
        try {
            redis.xgroupCreate(XReadArgs.StreamOffset.from(keys.pushQueue(), "0"), GROUP,
                    XGroupCreateArgs.Builder.mkstream()).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (!(e.getCause() instanceof RedisBusyException)) {
                throw new IllegalStateException("cannot create the push consumer group: " + e.getMessage(), e);
            }
        }
        reader = Thread.ofVirtual().name("alimi-push-reader").start(this::run);
    }

    public Stats stats() {
        return new Stats(sent.sum(), retried.sum(), failed.sum(), deadLettered.sum(), gone.sum(), fcmCalls.sum(),
                fcmNanos.sum(), suppressed.sum());
    }

    public Check health() {
        return new Check("push", lastError.isEmpty(), lastError.isEmpty() ? "reading " + keys.pushQueue() : lastError);
    }

    private void run() {
        long nextClaim = System.nanoTime();
        Consumer<String> me = Consumer.from(GROUP, consumer);
        while (running) {
            try {
                if (System.nanoTime() - nextClaim >= 0) {
                    nextClaim = System.nanoTime() + Math.max(settings.claimIdle().toNanos() / 2, TimeUnit.MILLISECONDS.toNanos(200));
                    claimAbandoned(me);
                    sweep();
                }
                int free = Math.max(1, Math.min(slots.availablePermits(), 64));
                List<StreamMessage<String, byte[]>> entries = blocking.async().xreadgroup(me,
                        XReadArgs.Builder.block(settings.block()).count(free),
                        XReadArgs.StreamOffset.lastConsumed(keys.pushQueue())).get(settings.block().toMillis() + 10_000, TimeUnit.MILLISECONDS);
                lastError = "";
                for (StreamMessage<String, byte[]> entry : entries) {
                    dispatch(entry);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                if (!running) {
                    return;
                }
                lastError = "cannot read the push stream: " + e.getMessage();
                LOG.log(Level.WARNING, "push worker: {0}; retrying", lastError);
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
            }
        }
    }

    /** Takes over entries another worker took and left unacknowledged for {@code claim-idle}. */
    private void claimAbandoned(Consumer<String> me) throws Exception {
        String start = "0-0";
        do {
            ClaimedMessages<String, byte[]> claimed = redis.xautoclaim(keys.pushQueue(),
                    XAutoClaimArgs.Builder.xautoclaim(me, settings.claimIdle(), start).count(100)).get(10, TimeUnit.SECONDS);
            for (StreamMessage<String, byte[]> entry : claimed.getMessages()) {
                if (entry.getBody() == null || entry.getBody().isEmpty()) {
                    // Trimmed away meanwhile (the queue's cap): nothing left to send.
                    acknowledge(entry);
                    continue;
                }
                LOG.info(() -> "push worker: claimed entry " + entry.getId() + " left by another worker");
                dispatch(entry);
            }
            start = claimed.getId();
        } while (!"0-0".equals(start) && running);
    }

    private void dispatch(StreamMessage<String, byte[]> entry) throws InterruptedException {
        if (!inFlight.add(entry.getId())) {
            return;
        }
        slots.acquire();
        Thread.ofVirtual().name("alimi-push").start(() -> {
            try {
                handle(entry);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "push worker: entry " + entry.getId() + " left for a retry", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.remove(entry.getId());
                slots.release();
            }
        });
    }

    /** Sends one entry to every destination, then acknowledges it (dead-lettering what failed for good). */
    private void handle(StreamMessage<String, byte[]> entry) throws InterruptedException {
        JsonNode event;
        try {
            event = EventJson.mapper().readTree(entry.getBody().get("event"));
        } catch (Exception corrupt) {
            deadLetter(entry, List.of("the entry is not an event"), List.of(), "the entry is not an event");
            acknowledge(entry);
            return;
        }
        String sentKey = keys.pushSent(entry.getId());
        Set<String> already = new HashSet<>();
        RedisCalls.await(redis.smembers(sentKey)).forEach(member -> already.add(new String(member, StandardCharsets.UTF_8)));
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> failedKeys = java.util.Collections.synchronizedList(new ArrayList<>());
        // A replayed dead letter names the destinations that failed; the others had it already.
        Set<String> only = entry.getBody().containsKey("only")
                ? Set.of(new String(entry.getBody().get("only"), StandardCharsets.UTF_8).split("\n")) : null;
        // One send per device: an event to a mall of 10,000 admins' phones is 10,000 sends, this many at once.
        Semaphore fanout = new Semaphore(settings.fanout());
        List<Thread> sends = new ArrayList<>();
        for (FcmClient.Destination destination : destinations(event)) {
            if (only != null && !only.contains(destination.key())) {
                continue;
            }
            if (!running) {
                break;
            }
            if (already.contains(destination.key())) {
                continue;
            }
            fanout.acquire();
            sends.add(Thread.ofVirtual().name("alimi-push-send").start(() -> {
                try {
                    Optional<String> failure = deliver(entry.getId(), event, destination);
                    if (failure.isPresent()) {
                        failures.add(destination.key() + ": " + failure.get());
                        failedKeys.add(destination.key());
                    } else {
                        // Pipelined, not awaited one by one: the set only spares a reclaimed entry second sends.
                        redis.sadd(sentKey, destination.key().getBytes(StandardCharsets.UTF_8));
                        redis.expire(sentKey, Duration.ofDays(1).toSeconds());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    fanout.release();
                }
            }));
        }
        for (Thread send : sends) {
            send.join();
        }
        if (!running) {
            // Stopping: what is not done stays pending, for another worker (or this node again) to claim.
            return;
        }
        if (!failures.isEmpty()) {
            deadLetter(entry, failures, failedKeys, "delivery failed for good (retryable errors after "
                    + settings.maxAttempts() + " attempts); see failures");
        }
        acknowledge(entry);
    }

    /** Sends to one destination with retries; empty when done (sent, or the token is gone), else why it failed. */
    private Optional<String> deliver(String entryId, JsonNode event, FcmClient.Destination destination)
            throws InterruptedException {
        ObjectNode message = FcmClient.message(event, destination);
        Backoff backoff = new Backoff(settings.backoffMin(), settings.backoffMax());
        String why = "";
        for (int attempt = 1; attempt <= settings.maxAttempts() && running; attempt++) {
            long start = System.nanoTime();
            FcmClient.Outcome outcome = fcm.send(message, destination);
            fcmCalls.increment();
            fcmNanos.add(System.nanoTime() - start);
            switch (outcome) {
                case FcmClient.Outcome.Sent sentOk -> {
                    sent.increment();
                    return Optional.empty();
                }
                case FcmClient.Outcome.Gone goneToken -> {
                    gone.increment();
                    devices.forget(destination.token());
                    return Optional.empty();
                }
                case FcmClient.Outcome.Failed failure -> {
                    failed.increment();
                    return Optional.of(failure.why());
                }
                case FcmClient.Outcome.Retry retry -> {
                    why = retry.why();
                    if (attempt == settings.maxAttempts()) {
                        break;
                    }
                    retried.increment();
                    long wait = Math.max(backoff.nextNanos(), retry.after().map(Duration::toNanos).orElse(0L));
                    // Still ours: reset the entry's idle time, so no other worker claims it while we wait.
                    RedisCalls.await(redis.xclaim(keys.pushQueue(), Consumer.from(GROUP, consumer),
                            XClaimArgs.Builder.justid().minIdleTime(0), entryId));
                    LockSupport.parkNanos(wait);
                }
            }
        }
        failed.increment();
        return Optional.of(why);
    }

    /**
     * {@code admin:<n>} → that admin's devices; a broad scope → the devices of its push audience's admins; less the
     * admins who muted it on push (through every target that brings it to them).
     */
    private List<FcmClient.Destination> destinations(JsonNode event) {
        Map<String, List<Scope>> admins = new java.util.LinkedHashMap<>();
        for (String target : event.path("targets").asText("").split(",")) {
            Scope scope;
            try {
                scope = Scope.parse(target.strip());
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (scope.kind() == Scope.Kind.ADMIN) {
                admins.computeIfAbsent(scope.id(), admin -> new ArrayList<>(1)).add(scope);
            } else {
                for (String admin : audience.admins(scope)) {
                    admins.computeIfAbsent(admin, a -> new ArrayList<>(1)).add(scope);
                }
            }
        }
        String type = event.path("type").asText("");
        Map<String, Preferences> muting = preferences.of(admins.keySet());
        int before = admins.size();
        admins.entrySet().removeIf(admin -> muting.get(admin.getKey()).muted(Channel.PUSH, type, admin.getValue()));
        suppressed.add(before - admins.size());
        Set<FcmClient.Destination> destinations = new LinkedHashSet<>();
        for (String token : devices.tokensOf(new ArrayList<>(admins.keySet()))) {
            destinations.add(FcmClient.Destination.device(token));
        }
        return new ArrayList<>(destinations);
    }

    private void deadLetter(StreamMessage<String, byte[]> entry, List<String> failures, List<String> destinations,
                            String reason) {
        Map<String, byte[]> fields = new java.util.LinkedHashMap<>();
        fields.put("entry", entry.getId().getBytes(StandardCharsets.UTF_8));
        fields.put("reason", reason.getBytes(StandardCharsets.UTF_8));
        fields.put("failures", String.join("\n", failures).getBytes(StandardCharsets.UTF_8));
        fields.put("destinations", String.join("\n", destinations).getBytes(StandardCharsets.UTF_8));
        fields.put("id", entry.getBody().getOrDefault("id", new byte[0]));
        fields.put("event", entry.getBody().getOrDefault("event", new byte[0]));
        RedisCalls.await(redis.xadd(keys.pushDeadLetters(),
                XAddArgs.Builder.maxlen(settings.deadLetterMaxLength()), fields));
        deadLettered.increment();
        LOG.warning(() -> "push worker: entry " + entry.getId() + " dead-lettered (" + reason + ")");
    }

    /** Done with: acknowledged, deleted from the push stream, and what it reached forgotten, in one step. */
    private void acknowledge(StreamMessage<String, byte[]> entry) {
        RedisCalls.await(doneScript.<Long>call(redis, ScriptOutputType.INTEGER,
                new String[] {keys.pushQueue(), keys.pushSent(entry.getId())}, bytes(GROUP), bytes(entry.getId())));
    }

    /**
     * Deletes acknowledged entries left in the stream (a worker died between the two, or an older version) and the
     * group's consumers of nodes gone (nothing pending, idle ten claim periods: a live worker reads every
     * {@code block}).
     */
    private void sweep() {
        long idle = Math.max(settings.claimIdle().toMillis() * 10, settings.block().toMillis() * 10);
        List<Long> swept = RedisCalls.await(sweepScript.<List<Long>>call(redis, ScriptOutputType.MULTI,
                new String[] {keys.pushQueue()}, bytes(GROUP), bytes(Long.toString(idle))));
        if (swept.get(0) > 0 || swept.get(1) > 0) {
            LOG.info(() -> "push worker: deleted " + swept.get(0) + " acknowledged entries left in "
                    + keys.pushQueue() + " and " + swept.get(1) + " consumers of nodes gone");
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }


    /**
     * Stops taking work. Entries in flight are left unacknowledged: another worker (or this node after a restart)
     * claims and finishes them.
     */
    @Override
    public void close() {
        running = false;
        if (reader != null) {
            reader.interrupt();
        }
    }
}

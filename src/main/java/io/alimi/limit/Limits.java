package io.alimi.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * What one node lets clients do, and how often it said no (by {@link Limit}, for metrics).
 *
 * <ul>
 *   <li>connects per second per client address: a token bucket per address ({@code burst} at once, then
 *       {@code rate} per second); over it, 429 with {@code Retry-After};</li>
 *   <li>new streams per second per node, from all addresses together ({@link Admission}): over it, 503 with a
 *       {@code Retry-After} that grows with the number of clients waiting, jittered so they come back spread out;</li>
 *   <li>live connections per admin: over it, 429 (close the admin's other tabs, or wait);</li>
 *   <li>live connections per node: over it, 503 with {@code Retry-After}, so the client tries another node.</li>
 * </ul>
 *
 * Counts are per node: behind a load balancer spreading clients over N nodes, an admin may hold up to N times
 * {@code connections-per-admin}.
 */
public final class Limits {

    /**
     * @param connectionsPerAdmin     live connections one admin may hold on a node
     * @param maxConnections          live connections a node takes
     * @param connectsPerSecondPerIp  sustained stream connects per second from one address
     * @param connectBurstPerIp       connects one address may make at once
     * @param admissionsPerSecond     sustained new streams per second on the node, all addresses together
     * @param admissionBurst          new streams the node takes at once
     */
    public record Settings(int connectionsPerAdmin, int maxConnections, double connectsPerSecondPerIp,
                           int connectBurstPerIp, double admissionsPerSecond, int admissionBurst) {
        public static final int DEFAULT_CONNECTIONS_PER_ADMIN = 20;
        public static final int DEFAULT_MAX_CONNECTIONS = 20_000;
        public static final double DEFAULT_CONNECTS_PER_SECOND_PER_IP = 50;
        public static final int DEFAULT_CONNECT_BURST_PER_IP = 500;
        /**
         * A node that loses its peers takes their clients over seconds, not all at once: 10,000 in about 20 s, each
         * resume a few Redis range reads.
         */
        public static final double DEFAULT_ADMISSIONS_PER_SECOND = 500;
        public static final int DEFAULT_ADMISSION_BURST = 100;

        public static final Settings DEFAULTS = new Settings(DEFAULT_CONNECTIONS_PER_ADMIN, DEFAULT_MAX_CONNECTIONS,
                DEFAULT_CONNECTS_PER_SECOND_PER_IP, DEFAULT_CONNECT_BURST_PER_IP, DEFAULT_ADMISSIONS_PER_SECOND,
                DEFAULT_ADMISSION_BURST);
    }

    /** A refusal: which limit, what to tell the client, and when it may try again. */
    public record Exceeded(Limit limit, String detail, long retryAfterSeconds) {
    }

    /** A held connection slot; closing it gives the slot back (once). */
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    private final Settings settings;
    private final Admission admission;
    private final String admissionRefused;
    private final long intervalNanos;
    private final long burstNanos;
    private final Map<Limit, LongAdder> refusals = new EnumMap<>(Limit.class);
    private final ConcurrentHashMap<String, AtomicInteger> perAdmin = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final Cache<String, Pace> buckets = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterAccess(Duration.ofMinutes(1))
            .build();

    public Limits(Settings settings) {
        this(settings, System::nanoTime, bound -> ThreadLocalRandom.current().nextLong(bound));
    }

    /**
     * @param clock  nanoseconds, as {@link System#nanoTime()}, for the admission rate
     * @param random a uniformly random number from 0 to the given bound (exclusive), for admission retry delays
     */
    Limits(Settings settings, LongSupplier clock, LongUnaryOperator random) {
        this.settings = settings;
        this.admission = new Admission(settings.admissionsPerSecond(), settings.admissionBurst(), clock, random);
        this.admissionRefused = "this node is admitting new streams at its limit (admissions-per-second: "
                + format(settings.admissionsPerSecond()) + "); retry later";
        this.intervalNanos = (long) Math.ceil(1e9 / settings.connectsPerSecondPerIp());
        this.burstNanos = intervalNanos * settings.connectBurstPerIp();
        for (Limit limit : Limit.values()) {
            refusals.put(limit, new LongAdder());
        }
    }

    public Settings settings() {
        return settings;
    }

    /** Takes one connect from {@code address}'s bucket, or says how long until the next is allowed. */
    public Optional<Exceeded> connect(String address) {
        Pace pace = buckets.getIfPresent(address);
        if (pace == null) {
            pace = buckets.get(address, ignored -> new Pace());
        }
        long waitNanos = pace.take(intervalNanos, burstNanos, System.nanoTime());
        if (waitNanos == 0) {
            return Optional.empty();
        }
        return Optional.of(refused(Limit.CONNECTS_PER_SECOND_PER_IP, "too many connects from this address (limit "
                + format(settings.connectsPerSecondPerIp()) + " per second); retry later",
                Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L)));
    }

    /**
     * Counts one new stream against the node's admission rate, or says how long to wait (jittered, longer the more
     * clients are waiting). Lock-free; allocates only when it refuses.
     */
    public Optional<Exceeded> admit() {
        long retryAfterSeconds = admission.take();
        if (retryAfterSeconds == 0) {
            return Optional.empty();
        }
        return Optional.of(refused(Limit.ADMISSIONS_PER_SECOND, admissionRefused, retryAfterSeconds));
    }

    /** Seconds until the clients refused admission so far would all have been admitted; 0 when none waits. */
    public double admissionBacklogSeconds() {
        return admission.backlogSeconds();
    }

    /** A connection slot for {@code adminNo}, or why there is none. */
    public Permit acquire(String adminNo) throws LimitException {
        if (connections.incrementAndGet() > settings.maxConnections()) {
            connections.decrementAndGet();
            throw new LimitException(refused(Limit.MAX_CONNECTIONS,
                    "this node is at its connection limit; connect again (another node may take you)", 1));
        }
        AtomicInteger mine = held(adminNo);
        if (mine.get() > settings.connectionsPerAdmin()) {
            release(adminNo, mine);
            throw new LimitException(refused(Limit.CONNECTIONS_PER_ADMIN, "this admin already has "
                    + settings.connectionsPerAdmin() + " live connections (the limit); close one first", 5));
        }
        AtomicBoolean closed = new AtomicBoolean();
        return () -> {
            if (closed.compareAndSet(false, true)) {
                release(adminNo, mine);
            }
        };
    }

    /**
     * Counts one more connection of {@code adminNo}, without locks (see {@link Pace}): a counter that dropped to
     * zero is retired (set negative) before it leaves the map, and a thread that finds a retired one takes a new.
     */
    private AtomicInteger held(String adminNo) {
        while (true) {
            AtomicInteger count = perAdmin.get(adminNo);
            if (count == null) {
                count = perAdmin.computeIfAbsent(adminNo, ignored -> new AtomicInteger());
            }
            if (count.incrementAndGet() > 0) {
                return count;
            }
            perAdmin.remove(adminNo, count);
        }
    }

    private void release(String adminNo, AtomicInteger count) {
        connections.decrementAndGet();
        if (count.decrementAndGet() == 0 && count.compareAndSet(0, Integer.MIN_VALUE)) {
            perAdmin.remove(adminNo, count);
        }
    }

    /** Counts a refusal decided elsewhere (request sizes). */
    public void count(Limit limit) {
        refusals.get(limit).increment();
    }

    /** How often each limit refused, since start. */
    public Map<Limit, Long> refusals() {
        Map<Limit, Long> counts = new EnumMap<>(Limit.class);
        refusals.forEach((limit, adder) -> counts.put(limit, adder.sum()));
        return counts;
    }

    /** Admins holding connections now. */
    int admins() {
        return perAdmin.size();
    }

    /** Connections held now. */
    public int connections() {
        return connections.get();
    }

    private Exceeded refused(Limit limit, String detail, long retryAfterSeconds) {
        refusals.get(limit).increment();
        return new Exceeded(limit, detail, retryAfterSeconds);
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }

    /**
     * A token bucket kept as one number (the generic cell rate algorithm): the time at which the bucket would be
     * full again. Lock-free: thousands of connects from one address at once never queue on a lock (a virtual
     * thread parked deep in a lock keeps that stack depth for the life of its connection).
     */
    private static final class Pace {
        private final AtomicLong fullAt = new AtomicLong(Long.MIN_VALUE);

        /** 0 if a connect may go now, else nanoseconds until one may. */
        long take(long interval, long burst, long now) {
            while (true) {
                long current = fullAt.get();
                long next = Math.max(current == Long.MIN_VALUE ? now : current, now) + interval;
                if (next - now > burst) {
                    return next - now - burst;
                }
                if (fullAt.compareAndSet(current, next)) {
                    return 0;
                }
            }
        }
    }

    /** Thrown when a limit refuses a connection. */
    public static final class LimitException extends Exception {
        private final transient Exceeded exceeded;

        LimitException(Exceeded exceeded) {
            super(exceeded.detail(), null, false, false);
            this.exceeded = exceeded;
        }

        public Exceeded exceeded() {
            return exceeded;
        }
    }
}

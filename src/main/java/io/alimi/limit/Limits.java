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
 *   <li>live connections per node: over it, 503 with {@code Retry-After}, so the client tries another node;</li>
 *   <li>requests with a bad credential per client address ({@link Limit#FAILED_AUTH_PER_IP}): an address over it
 *       is refused (429) before its credentials are checked, so a flood of garbage tokens costs a counter each, and
 *       only authenticated requests are counted against the node's admission rate;</li>
 *   <li>per admin, each kind of request that makes Redis work ({@link Rates}): tickets, WebSocket resumes, reads,
 *       read marks, device writes; over one, 429 with {@code Retry-After}.</li>
 * </ul>
 *
 * Per-address buckets group IPv6 clients by network ({@code ipv6-prefix}, /64 by default): one subscriber line
 * holds a whole /64, so one bucket per address would be no limit at all.
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

    /**
     * The keyed rates: per client address ({@link Limit#FAILED_AUTH_PER_IP}) and per admin (the others).
     *
     * @param keyed      the rate of each keyed limit; one missing from the map is not enforced
     * @param ipv6Prefix how many leading bits of an IPv6 address make one client, for per-address limits
     */
    public record Rates(Map<Limit, Rate> keyed, int ipv6Prefix) {
        public static final int DEFAULT_IPV6_PREFIX = 64;
        /**
         * A console reconnects a few times a minute at worst, pages the timeline at reading speed, and registers a
         * phone now and then; a script hammering any of these is what they stop.
         */
        public static final Map<Limit, Rate> DEFAULT_KEYED = Map.of(
                Limit.FAILED_AUTH_PER_IP, new Rate(1, 20),
                Limit.TICKETS_PER_ADMIN, new Rate(2, 30),
                Limit.RESUMES_PER_ADMIN, new Rate(1, 10),
                Limit.READS_PER_ADMIN, new Rate(10, 100),
                Limit.READ_MARKS_PER_ADMIN, new Rate(5, 50),
                Limit.DEVICE_WRITES_PER_ADMIN, new Rate(1.0 / 60, 10),
                Limit.PREFERENCE_WRITES_PER_ADMIN, new Rate(1, 20));
        public static final Rates DEFAULTS = new Rates(DEFAULT_KEYED, DEFAULT_IPV6_PREFIX);

        public Rates {
            keyed = Map.copyOf(keyed);
            if (ipv6Prefix < 1 || ipv6Prefix > 128) {
                throw new IllegalArgumentException("the IPv6 prefix must be from 1 to 128 bits");
            }
        }
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
    private final Rates rates;
    private final Map<Limit, Keyed> keyed = new EnumMap<>(Limit.class);
    private final Admission admission;
    private final String admissionRefused;
    private final long intervalNanos;
    private final long burstNanos;
    private final LongSupplier clock;
    private final Map<Limit, LongAdder> refusals = new EnumMap<>(Limit.class);
    private final ConcurrentHashMap<String, AtomicInteger> perAdmin = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final Cache<String, Pace> buckets = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterAccess(Duration.ofMinutes(1))
            .build();

    /** {@code alimi.limits.*}. */
    public static Limits from(io.alimi.config.Settings settings) {
        return new Limits(new Settings(
                settings.integer("alimi.limits.connections-per-admin", Settings.DEFAULT_CONNECTIONS_PER_ADMIN, 1, 1_000_000),
                settings.integer("alimi.limits.max-connections", Settings.DEFAULT_MAX_CONNECTIONS, 1, 10_000_000),
                settings.integer("alimi.limits.connects-per-second-per-ip",
                        (int) Settings.DEFAULT_CONNECTS_PER_SECOND_PER_IP, 1, 1_000_000),
                settings.integer("alimi.limits.connect-burst-per-ip", Settings.DEFAULT_CONNECT_BURST_PER_IP, 1, 1_000_000),
                settings.integer("alimi.limits.admissions-per-second",
                        (int) Settings.DEFAULT_ADMISSIONS_PER_SECOND, 1, 1_000_000),
                settings.integer("alimi.limits.admission-burst", Settings.DEFAULT_ADMISSION_BURST, 1, 1_000_000)),
                rates(settings));
    }

    /**
     * The keyed limits: {@code alimi.limits.<name>} a rate ({@code 10/s}, {@code 6/min}) or {@code off},
     * {@code alimi.limits.<name>-burst} how many at once.
     */
    private static Rates rates(io.alimi.config.Settings settings) {
        Map<Limit, Rate> keyed = new EnumMap<>(Limit.class);
        Rates.DEFAULT_KEYED.forEach((limit, fallback) -> {
            String key = "alimi.limits." + limit.key();
            String text = settings.string(key, fallback.toString());
            if (text.strip().equalsIgnoreCase("off")) {
                return;
            }
            double perSecond;
            try {
                perSecond = Rate.parsePerSecond(text);
            } catch (IllegalArgumentException e) {
                throw new io.alimi.config.SettingsException(key, e.getMessage() + ", or off");
            }
            keyed.put(limit, new Rate(perSecond, settings.integer(key + "-burst", fallback.burst(), 1, 1_000_000)));
        });
        return new Rates(keyed, settings.integer("alimi.limits.ipv6-prefix", Rates.DEFAULT_IPV6_PREFIX, 1, 128));
    }

    public Limits(Settings settings) {
        this(settings, Rates.DEFAULTS);
    }

    public Limits(Settings settings, Rates rates) {
        this(settings, rates, System::nanoTime, bound -> ThreadLocalRandom.current().nextLong(bound));
    }

    Limits(Settings settings, LongSupplier clock, LongUnaryOperator random) {
        this(settings, Rates.DEFAULTS, clock, random);
    }

    /**
     * @param clock  nanoseconds, as {@link System#nanoTime()}, for the admission rate
     * @param random a uniformly random number from 0 to the given bound (exclusive), for admission retry delays
     */
    Limits(Settings settings, Rates rates, LongSupplier clock, LongUnaryOperator random) {
        this.settings = settings;
        this.rates = rates;
        this.clock = clock;
        rates.keyed().forEach((limit, rate) -> keyed.put(limit, new Keyed(rate)));
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

    public Rates rates() {
        return rates;
    }

    /**
     * Takes one from {@code key}'s bucket of {@code limit} (an admin number), or says how long until one is
     * allowed. A limit without a rate allows all. Bad credentials per address: {@link #failedAuth}.
     */
    public Optional<Exceeded> take(Limit limit, String key) {
        Keyed bucket = keyed.get(limit);
        if (bucket == null) {
            return Optional.empty();
        }
        long waitNanos = bucket.pace(key).take(bucket.interval, bucket.tolerance, clock.getAsLong());
        return waitNanos == 0 ? Optional.empty() : Optional.of(refusedKeyed(limit, bucket.rate, waitNanos));
    }

    /**
     * Whether {@code address} may present one more credential now: refused once its bad credentials used up
     * {@link Limit#FAILED_AUTH_PER_IP}. Takes nothing; {@link #failedAuth} takes.
     */
    public Optional<Exceeded> mayAuthenticate(String address) {
        Keyed bucket = keyed.get(Limit.FAILED_AUTH_PER_IP);
        if (bucket == null) {
            return Optional.empty();
        }
        Pace pace = bucket.paces.getIfPresent(client(address));
        long waitNanos = pace == null ? 0 : pace.wait(bucket.interval, bucket.tolerance, clock.getAsLong());
        return waitNanos == 0 ? Optional.empty()
                : Optional.of(refusedKeyed(Limit.FAILED_AUTH_PER_IP, bucket.rate, waitNanos));
    }

    /** Counts one bad credential from {@code address} against {@link Limit#FAILED_AUTH_PER_IP}. */
    public void failedAuth(String address) {
        Keyed bucket = keyed.get(Limit.FAILED_AUTH_PER_IP);
        if (bucket != null) {
            bucket.pace(client(address)).take(bucket.interval, bucket.tolerance, clock.getAsLong());
        }
    }

    /** The client a per-address bucket counts: the address, or for IPv6 its network of {@code ipv6-prefix} bits. */
    String client(String address) {
        return ClientAddress.network(address, rates.ipv6Prefix());
    }

    private Exceeded refusedKeyed(Limit limit, Rate rate, long waitNanos) {
        String what = switch (limit) {
            case FAILED_AUTH_PER_IP -> "too many requests with a missing or invalid credential from this address";
            case TICKETS_PER_ADMIN -> "too many tickets for this admin";
            case RESUMES_PER_ADMIN -> "too many resumes for this admin";
            case READS_PER_ADMIN -> "too many reads for this admin";
            case READ_MARKS_PER_ADMIN -> "too many read marks for this admin";
            case DEVICE_WRITES_PER_ADMIN -> "too many device registrations for this admin";
            case PREFERENCE_WRITES_PER_ADMIN -> "too many preference changes for this admin";
            default -> "too many requests";
        };
        return refused(limit, what + " (" + limit.key() + ": " + rate + ", burst " + rate.burst() + "); retry later",
                Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L));
    }

    /** Takes one connect from {@code address}'s bucket, or says how long until the next is allowed. */
    public Optional<Exceeded> connect(String address) {
        String client = client(address);
        Pace pace = buckets.getIfPresent(client);
        if (pace == null) {
            pace = buckets.get(client, ignored -> new Pace());
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

        /** 0 if {@link #take} would succeed now, else nanoseconds until it would; takes nothing. */
        long wait(long interval, long burst, long now) {
            long current = fullAt.get();
            long next = Math.max(current == Long.MIN_VALUE ? now : current, now) + interval;
            return next - now > burst ? next - now - burst : 0;
        }

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

    /** The buckets of one keyed limit: one per key, forgotten a minute after their last use. */
    private static final class Keyed {
        final Rate rate;
        final long interval;
        final long tolerance;
        final Cache<String, Pace> paces;

        Keyed(Rate rate) {
            this.rate = rate;
            this.interval = (long) Math.ceil(1e9 / rate.perSecond());
            this.tolerance = interval * rate.burst();
            // A key idle for as long as its bucket takes to fill again is at its burst: it can be forgotten.
            Duration idle = Duration.ofNanos(Math.max(Duration.ofMinutes(1).toNanos(), Math.min(tolerance,
                    Duration.ofDays(1).toNanos())));
            this.paces = Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(idle).build();
        }

        Pace pace(String key) {
            Pace pace = paces.getIfPresent(key);
            return pace != null ? pace : paces.get(key, ignored -> new Pace());
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

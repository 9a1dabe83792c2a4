package io.alimi.limit;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * The rate at which one node takes new streams, whoever asks, and how long a refused client should wait.
 *
 * <p>Why: when a node dies or a deployment restarts nodes, every browser it served reconnects within seconds, from
 * as many addresses, and each resume reads its backlog from Redis. Per-address limits cannot see that wave; this
 * admits it at {@code rate} per second (after {@code burst} at once) and spreads the rest over time.
 *
 * <p>The rate is a token bucket kept as one number (the generic cell rate algorithm, as for per-address connects):
 * the time at which the bucket would be full again. A refusal does not take from the bucket; it adds the refused
 * client to a second number, the time at which everyone refused so far would have been admitted at the rate (never
 * more than {@link #MAX_RETRY_AFTER} ahead, so it drains within that once refusals stop). The client is told to come
 * back after a uniformly random whole number of seconds between 1 and that time: at 500 per second, the thousandth
 * client of a wave is spread over about two seconds, the ten-thousandth over twenty, so retries come back spread
 * out instead of as a second wave. A client that comes back too early is refused again, with a longer window.
 *
 * <p>Thread-safe and lock-free: a compare-and-set loop per call, no allocation, O(1) whatever the number of clients.
 */
final class Admission {

    /** The longest a refused client is told to wait. */
    static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(30);

    private static final long SECOND = 1_000_000_000L;

    private final long interval;
    private final long tolerance;
    private final long maxBacklog;
    private final long maxRetrySeconds;
    private final LongSupplier clock;
    private final LongUnaryOperator random;
    private final AtomicLong fullAt;
    private final AtomicLong backlogEnd;

    /**
     * @param perSecond streams admitted per second, sustained
     * @param burst     streams admitted at once from a full bucket
     * @param clock     nanoseconds, as {@link System#nanoTime()}
     * @param random    a uniformly random number from 0 (inclusive) to the given bound (exclusive)
     */
    Admission(double perSecond, int burst, LongSupplier clock, LongUnaryOperator random) {
        if (!(perSecond > 0) || burst < 1) {
            throw new IllegalArgumentException("the rate and the burst must be positive");
        }
        this.interval = (long) Math.ceil(SECOND / perSecond);
        this.tolerance = interval * burst;
        this.maxBacklog = MAX_RETRY_AFTER.toNanos();
        this.maxRetrySeconds = MAX_RETRY_AFTER.toSeconds();
        this.clock = clock;
        this.random = random;
        long now = clock.getAsLong();
        this.fullAt = new AtomicLong(now);
        this.backlogEnd = new AtomicLong(now);
    }

    /** 0 if a stream may open now (and it is counted); otherwise the seconds to wait, from 1 to 30, jittered. */
    long take() {
        long now = clock.getAsLong();
        while (true) {
            long current = fullAt.get();
            long next = later(current, now) + interval;
            if (next - now > tolerance) {
                return refuse(now, next - tolerance);
            }
            if (fullAt.compareAndSet(current, next)) {
                return 0;
            }
        }
    }

    /**
     * Puts one refused client at the end of the backlog and picks its delay.
     *
     * @param admissibleAt when the bucket would take one more stream
     */
    private long refuse(long now, long admissibleAt) {
        long end;
        long next;
        do {
            end = backlogEnd.get();
            next = later(end, admissibleAt) + interval;
            if (next - now > maxBacklog) {
                next = now + maxBacklog;
            }
        } while (!backlogEnd.compareAndSet(end, next));
        long window = Math.max(1, Math.min(maxRetrySeconds, (next - now + SECOND - 1) / SECOND));
        return 1 + random.applyAsLong(window);
    }

    /** Seconds until every client refused so far would have been admitted; 0 when none is waiting. */
    double backlogSeconds() {
        return Math.max(0, backlogEnd.get() - clock.getAsLong()) / (double) SECOND;
    }

    /** The later of two {@link System#nanoTime()} readings (compared by difference, as nanoTime requires). */
    private static long later(long a, long b) {
        return a - b > 0 ? a : b;
    }
}

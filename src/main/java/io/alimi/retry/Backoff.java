package io.alimi.retry;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long to wait before the next attempt: a delay that doubles after each failure, from {@code min} up to
 * {@code max}, each wait drawn with equal jitter (half the delay, plus a random part of the other half), so that
 * nodes that failed together do not all retry in the same instant. Not thread-safe: one per retry loop.
 */
public final class Backoff {

    private final long minNanos;
    private final long maxNanos;
    private long delayNanos;

    /**
     * @throws IllegalArgumentException unless {@code 0 < min <= max}
     */
    public Backoff(Duration min, Duration max) {
        if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("a backoff needs 0 < min <= max, not " + min + " and " + max);
        }
        this.minNanos = min.toNanos();
        this.maxNanos = max.toNanos();
        this.delayNanos = minNanos;
    }

    /** The wait before the next attempt, in nanoseconds; the delay after it doubles (up to the maximum). */
    public long nextNanos() {
        long wait = delayNanos / 2 + ThreadLocalRandom.current().nextLong(delayNanos / 2 + 1);
        delayNanos = delayNanos > maxNanos / 2 ? maxNanos : delayNanos * 2;
        return wait;
    }

    /** An attempt succeeded: the next failure waits the minimum again. */
    public void reset() {
        delayNanos = minNanos;
    }
}

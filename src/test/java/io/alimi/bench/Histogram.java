package io.alimi.bench;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latencies in nanoseconds, in log-linear buckets (about 1 % wide) from 1 µs to about 70 s; percentiles are read
 * as the upper edge of the bucket they fall in. Thread-safe recording.
 */
final class Histogram {

    private static final int SUB_BUCKETS = 64;
    private static final int MAGNITUDES = 27;
    private final AtomicLongArray counts = new AtomicLongArray(SUB_BUCKETS * MAGNITUDES);
    private volatile long max;

    void record(long nanos) {
        long micros = Math.max(1, nanos / 1_000);
        int magnitude = 63 - Long.numberOfLeadingZeros(micros);
        int index;
        if (magnitude < 6) {
            index = (int) micros;
        } else {
            int shift = magnitude - 6;
            index = Math.min(counts.length() - 1, (shift + 1) * SUB_BUCKETS + (int) ((micros >>> shift) - SUB_BUCKETS));
        }
        counts.incrementAndGet(index);
        if (nanos > max) {
            max = nanos;
        }
    }

    void clear() {
        for (int i = 0; i < counts.length(); i++) {
            counts.set(i, 0);
        }
        max = 0;
    }

    long count() {
        long total = 0;
        for (int i = 0; i < counts.length(); i++) {
            total += counts.get(i);
        }
        return total;
    }

    /** The latency in milliseconds below which fraction {@code p} of the recorded values are. */
    double percentileMillis(double p) {
        long total = count();
        if (total == 0) {
            return Double.NaN;
        }
        long rank = (long) Math.ceil(total * p);
        long seen = 0;
        for (int i = 0; i < counts.length(); i++) {
            seen += counts.get(i);
            if (seen >= rank) {
                return upperMicros(i) / 1000.0;
            }
        }
        return max / 1e6;
    }

    double maxMillis() {
        return max / 1e6;
    }

    private static long upperMicros(int index) {
        if (index < SUB_BUCKETS) {
            return index + 1;
        }
        int shift = index / SUB_BUCKETS - 1;
        long sub = index % SUB_BUCKETS + SUB_BUCKETS;
        return (sub + 1) << shift;
    }
}

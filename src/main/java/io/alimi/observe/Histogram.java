package io.alimi.observe;

import java.util.concurrent.atomic.LongAdder;

/**
 * A fixed-bucket latency histogram in milliseconds, for Prometheus: recording is one add to a striped counter, so
 * it can sit on the delivery path.
 */
public final class Histogram {

    /** Upper bounds, ms. */
    static final long[] BOUNDS = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

    private final LongAdder[] buckets = new LongAdder[BOUNDS.length + 1];
    private final LongAdder sumMillis = new LongAdder();
    private final LongAdder count = new LongAdder();

    public Histogram() {
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    public void record(long millis) {
        long value = Math.max(0, millis);
        int i = 0;
        while (i < BOUNDS.length && value > BOUNDS[i]) {
            i++;
        }
        buckets[i].increment();
        sumMillis.add(value);
        count.increment();
    }

    /** Writes {@code name_bucket{le=…}}, {@code name_sum} and {@code name_count}, in seconds. */
    public void write(StringBuilder text, String name, String help) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i < BOUNDS.length; i++) {
            cumulative += buckets[i].sum();
            text.append(name).append("_bucket{le=\"").append(seconds(BOUNDS[i])).append("\"} ").append(cumulative).append('\n');
        }
        cumulative += buckets[BOUNDS.length].sum();
        text.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
        text.append(name).append("_sum ").append(seconds(sumMillis.sum())).append('\n');
        text.append(name).append("_count ").append(count.sum()).append('\n');
    }

    private static String seconds(long millis) {
        return java.math.BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString();
    }
}

package io.alimi.observe;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most one log line per interval for a condition that may repeat hundreds of times a second (Redis away,
 * a queue at its cap): {@link #due()} says whether to log now, and how many were held back since the last line.
 */
public final class LogThrottle {

    private final long interval;
    private final AtomicLong last;
    private final AtomicLong held = new AtomicLong();

    public LogThrottle(Duration interval) {
        this.interval = interval.toNanos();
        this.last = new AtomicLong(System.nanoTime() - this.interval);
    }

    /** -1 when this occurrence is held back; else the number held back since the last one logged. */
    public long due() {
        long now = System.nanoTime();
        long previous = last.get();
        if (now - previous >= interval && last.compareAndSet(previous, now)) {
            return held.getAndSet(0);
        }
        held.incrementAndGet();
        return -1;
    }
}

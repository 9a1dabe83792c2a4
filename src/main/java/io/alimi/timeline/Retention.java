package io.alimi.timeline;

import io.alimi.config.Settings;
import java.time.Duration;

/**
 * How much each scope's timeline keeps, and for how long an event id is remembered.
 *
 * @param maxLength entries kept per scope; trimming runs in batches, so a stream may hold up to 1 % (at least 1,
 *                  at most 100) entries more before it is cut back to exactly this
 * @param maxAge    age after which entries are trimmed, measured back from the newest entry when something is
 *                  appended
 * @param dedupTtl  how long an event id is remembered per scope: a redelivery within it is recognised as a
 *                  duplicate; it must exceed the longest time a producer or Kafka may redeliver
 * @param pushQueueMaxLength entries the push work stream may hold (work not done yet); beyond it, with no push
 *                  worker running or workers far behind, the oldest pushes are dropped and counted
 */
public record Retention(int maxLength, Duration maxAge, Duration dedupTtl, int pushQueueMaxLength) {

    /** {@code alimi.timeline.*} and the push queue's cap. */
    public static Retention from(Settings settings) {
        return new Retention(
                settings.integer("alimi.timeline.max-length", DEFAULT_MAX_LENGTH, 1, 100_000_000),
                settings.duration("alimi.timeline.max-age", DEFAULT_MAX_AGE, Duration.ofSeconds(1), Duration.ofDays(3650)),
                settings.duration("alimi.timeline.dedup-ttl", DEFAULT_DEDUP_TTL, Duration.ofSeconds(1), Duration.ofDays(365)),
                settings.integer("alimi.push.queue-max-length", DEFAULT_PUSH_QUEUE_MAX_LENGTH, 1, 100_000_000));
    }

    public static final int DEFAULT_MAX_LENGTH = 10_000;
    public static final Duration DEFAULT_MAX_AGE = Duration.ofDays(30);
    public static final Duration DEFAULT_DEDUP_TTL = Duration.ofHours(24);
    public static final int DEFAULT_PUSH_QUEUE_MAX_LENGTH = 100_000;

    public static final Retention DEFAULTS = new Retention(DEFAULT_MAX_LENGTH, DEFAULT_MAX_AGE, DEFAULT_DEDUP_TTL,
            DEFAULT_PUSH_QUEUE_MAX_LENGTH);

    public Retention {
        if (maxLength < 1 || maxAge.isNegative() || maxAge.isZero() || dedupTtl.toMillis() < 1 || pushQueueMaxLength < 1) {
            throw new IllegalArgumentException("retention bounds must be positive");
        }
    }

    /** Timeline bounds with the default push queue cap. */
    public Retention(int maxLength, Duration maxAge, Duration dedupTtl) {
        this(maxLength, maxAge, dedupTtl, DEFAULT_PUSH_QUEUE_MAX_LENGTH);
    }
}

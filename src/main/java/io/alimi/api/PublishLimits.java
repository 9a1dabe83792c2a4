package io.alimi.api;

import io.alimi.config.Settings;

/**
 * Request limits of {@code POST /v1/events}.
 *
 * @param maxBodyBytes   a request body larger than this is refused with 413 before it is parsed
 * @param maxBatchEvents events in one batch request
 */
public record PublishLimits(int maxBodyBytes, int maxBatchEvents) {

    /** {@code alimi.publish.max-body-bytes}, {@code alimi.publish.max-batch-events}. */
    public static PublishLimits from(Settings settings) {
        return new PublishLimits(
                settings.bytes("alimi.publish.max-body-bytes", DEFAULT_MAX_BODY_BYTES, 1024, 256 << 20),
                settings.integer("alimi.publish.max-batch-events", DEFAULT_MAX_BATCH_EVENTS, 1, 100_000));
    }

    public static final int DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
    public static final int DEFAULT_MAX_BATCH_EVENTS = 1_000;
}

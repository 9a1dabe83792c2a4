package io.alimi.api;

/**
 * Request limits of {@code POST /v1/events}.
 *
 * @param maxBodyBytes   a request body larger than this is refused with 413 before it is parsed
 * @param maxBatchEvents events in one batch request
 */
public record PublishLimits(int maxBodyBytes, int maxBatchEvents) {

    public static final int DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
    public static final int DEFAULT_MAX_BATCH_EVENTS = 1_000;
}

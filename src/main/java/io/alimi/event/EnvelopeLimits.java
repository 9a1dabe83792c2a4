package io.alimi.event;

import io.alimi.config.Settings;

/**
 * Size limits of an event, checked before anything is stored.
 *
 * @param maxDataBytes  the {@code data} member, serialized as UTF-8 JSON
 * @param maxEventBytes the whole envelope, serialized as UTF-8 JSON
 * @param maxTargets    distinct scopes in {@code targets}
 * @param maxIdLength   characters of {@code id}
 */
public record EnvelopeLimits(int maxDataBytes, int maxEventBytes, int maxTargets, int maxIdLength) {

    /** {@code alimi.events.*}. */
    public static EnvelopeLimits from(Settings settings) {
        int maxData = settings.bytes("alimi.events.max-data-bytes", DEFAULT_MAX_DATA_BYTES, 1, 16 << 20);
        int maxEvent = settings.bytes("alimi.events.max-event-bytes", Math.max(DEFAULT_MAX_EVENT_BYTES,
                maxData + 8 * 1024), maxData, 32 << 20);
        return new EnvelopeLimits(maxData, maxEvent,
                settings.integer("alimi.events.max-targets", DEFAULT_MAX_TARGETS, 1, 1_000),
                settings.integer("alimi.events.max-id-length", DEFAULT_MAX_ID_LENGTH, 1, 1_024));
    }

    public static final int DEFAULT_MAX_DATA_BYTES = 64 * 1024;
    /** Room for the attributes around a full-size {@code data}. */
    public static final int DEFAULT_MAX_EVENT_BYTES = 72 * 1024;
    public static final int DEFAULT_MAX_TARGETS = 32;
    public static final int DEFAULT_MAX_ID_LENGTH = 128;

    public static final EnvelopeLimits DEFAULTS = new EnvelopeLimits(
            DEFAULT_MAX_DATA_BYTES, DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_TARGETS, DEFAULT_MAX_ID_LENGTH);

    public EnvelopeLimits {
        if (maxDataBytes < 1 || maxEventBytes < maxDataBytes || maxTargets < 1 || maxIdLength < 1) {
            throw new IllegalArgumentException("limits must be positive and max-event-bytes >= max-data-bytes");
        }
    }
}

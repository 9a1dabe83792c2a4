package io.alimi.event;

/**
 * Size limits of an event, checked before anything is stored.
 *
 * @param maxDataBytes  the {@code data} member, serialized as UTF-8 JSON
 * @param maxEventBytes the whole envelope, serialized as UTF-8 JSON
 * @param maxTargets    distinct scopes in {@code targets}
 * @param maxIdLength   characters of {@code id}
 */
public record EnvelopeLimits(int maxDataBytes, int maxEventBytes, int maxTargets, int maxIdLength) {

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

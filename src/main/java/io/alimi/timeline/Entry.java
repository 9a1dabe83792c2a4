package io.alimi.timeline;

import java.nio.charset.StandardCharsets;

/**
 * One event in one scope's timeline.
 *
 * @param id      its position in that scope's stream
 * @param eventId the producer's event id
 * @param type    the CloudEvents type
 * @param json    the envelope, one line of UTF-8 JSON, as the producer sent it (do not modify the array)
 */
public record Entry(StreamId id, String eventId, String type, byte[] json) {

    /** The envelope JSON as text. */
    public String jsonText() {
        return new String(json, StandardCharsets.UTF_8);
    }
}

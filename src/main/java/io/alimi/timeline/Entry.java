package io.alimi.timeline;

import java.nio.charset.StandardCharsets;

/**
 * One event in one scope's timeline.
 *
 * @param id      its position in that scope's stream
 * @param eventId the producer's event id
 * @param type    the CloudEvents type
 * @param targets all the scopes the event was sent to, comma-separated ({@code mall:1,admin:42})
 * @param epoch   the epoch of the stream the entry is in (0 if not recorded)
 * @param json    the envelope, one line of UTF-8 JSON, as the producer sent it (do not modify the array)
 */
public record Entry(StreamId id, String eventId, String type, String targets, long epoch, byte[] json) {

    /** The envelope JSON as text. */
    public String jsonText() {
        return new String(json, StandardCharsets.UTF_8);
    }
}

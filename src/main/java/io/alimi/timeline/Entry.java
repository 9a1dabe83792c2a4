package io.alimi.timeline;

import io.alimi.event.EventId;

import java.nio.charset.StandardCharsets;

/**
 * One event in one scope's timeline.
 *
 * @param id       its position in that scope's stream
 * @param eventId  the producer's event id
 * @param source   the CloudEvents source; null for entries stored before sources were recorded
 * @param type     the CloudEvents type
 * @param targets  all the scopes the event was sent to, comma-separated ({@code mall:1,admin:42})
 * @param epoch    the epoch of the stream the entry is in (0 if not recorded)
 * @param previous the entry before it in this stream when it was appended ({@link StreamId#ZERO} for a stream's
 *                 first); null for entries stored before it was recorded. A reader whose position is before it
 *                 and who has not seen it knows the entries in between were trimmed.
 * @param json     the envelope, one line of UTF-8 JSON, as the producer sent it (do not modify the array)
 */
public record Entry(StreamId id, String eventId, String source, String type, String targets, long epoch,
                    StreamId previous, byte[] json) {

    /** The event's identity (source and id); the entry id stands in for an entry that has no event id. */
    public EventId event() {
        return new EventId(source, eventId == null ? id.toString() : eventId);
    }

    /** The envelope JSON as text. */
    public String jsonText() {
        return new String(json, StandardCharsets.UTF_8);
    }
}

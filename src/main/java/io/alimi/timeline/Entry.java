package io.alimi.timeline;

/**
 * One event in one scope's timeline.
 *
 * @param id      its position in that scope's stream
 * @param eventId the producer's event id
 * @param type    the CloudEvents type
 * @param json    the envelope, one line of JSON, as the producer sent it
 */
public record Entry(StreamId id, String eventId, String type, String json) {
}

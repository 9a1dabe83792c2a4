package io.alimi.timeline;

import java.util.Optional;

/**
 * What a reader needs to judge a position in one scope's timeline.
 *
 * @param epoch  the stream's epoch, empty if the stream was never written
 * @param length entries now kept
 * @param first  the oldest entry kept, empty if none
 * @param last    the newest entry, empty if none
 * @param trimmed the newest entry ever removed by retention in this epoch, empty if none: a position before it
 *                has lost the entries after it up to this one
 * @param timeMillis the clock of the Redis server holding the stream when it was read: every entry appended later
 *                has that millisecond or a later one (stream ids are that clock)
 */
public record StreamBounds(Optional<String> epoch, long length, Optional<StreamId> first, Optional<StreamId> last,
                           Optional<StreamId> trimmed, long timeMillis) {

    /** The position a reader that has seen everything stands at: the last entry, or ZERO for an empty stream. */
    public StreamId end() {
        return last.orElse(StreamId.ZERO);
    }

    /** The epoch as a number, 0 when the stream was never written. */
    public long epochNumber() {
        return epoch.map(StreamHead::number).orElse(0L);
    }
}

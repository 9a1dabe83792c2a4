package io.alimi.timeline;

import java.util.Optional;

/**
 * Where one scope's stream stands, as a reader starting on it needs it: read in bulk for many scopes at once
 * ({@link Timeline#heads}).
 *
 * @param epoch      the stream's epoch, empty if the stream was never written
 * @param last       the newest entry, empty if none
 * @param trimmed    the newest entry retention ever removed in this epoch, empty if none
 * @param timeMillis the clock of the Redis server holding the stream when it was read: every entry appended later
 *                   has that millisecond or a later one (stream ids are that clock)
 */
public record StreamHead(Optional<String> epoch, Optional<StreamId> last, Optional<StreamId> trimmed, long timeMillis) {

    /** Epochs below this are random numbers from before epochs were creation times. */
    public static final long TIME_EPOCHS = 1L << 32;

    /** The position a reader that has seen everything stands at: the last entry, or ZERO for an empty stream. */
    public StreamId end() {
        return last.orElse(StreamId.ZERO);
    }

    /** The epoch as a number, 0 when the stream was never written. */
    public long epochNumber() {
        return epoch.map(StreamHead::number).orElse(0L);
    }

    /**
     * When the stream was created, in milliseconds of its Redis clock: every entry is at or after it. 0 for a stream
     * that does not exist or was created before epochs were times (it has existed since before any cursor of now).
     */
    public long createdMillis() {
        return created(epochNumber());
    }

    /** The creation time an epoch stands for; 0 for no epoch or a random one from before epochs were times. */
    public static long created(long epoch) {
        return epoch >= TIME_EPOCHS ? epoch : 0;
    }

    static long number(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException corrupt) {
            return 0;
        }
    }
}

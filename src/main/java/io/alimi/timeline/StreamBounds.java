package io.alimi.timeline;

import java.util.Optional;

/**
 * What a reader needs to judge a position in one scope's timeline.
 *
 * @param epoch  the stream's epoch, empty if the stream was never written
 * @param length entries now kept
 * @param first  the oldest entry kept, empty if none
 * @param last   the newest entry, empty if none
 */
public record StreamBounds(Optional<String> epoch, long length, Optional<StreamId> first, Optional<StreamId> last) {
}

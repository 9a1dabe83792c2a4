package io.alimi.timeline;

import io.alimi.event.Scope;

/**
 * Where an appended event sits in one scope's timeline.
 *
 * @param scope     the scope
 * @param entryId   its entry id in that scope's stream
 * @param duplicate true when the event was already there (the same source and id within the dedup window): nothing
 *                  was added and {@code entryId} is the original entry's
 */
public record Placement(Scope scope, StreamId entryId, boolean duplicate) {
}

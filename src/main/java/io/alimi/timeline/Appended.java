package io.alimi.timeline;

import java.util.List;

/**
 * The outcome of appending one event: one placement per target scope, in the order of its targets.
 *
 * @param eventId the event's id
 * @param source  the event's source: with the id, what a duplicate is recognised by
 */
public record Appended(String eventId, String source, List<Placement> placements) {

    public Appended {
        placements = List.copyOf(placements);
    }

    /** True when every scope already had this event. */
    public boolean duplicate() {
        return placements.stream().allMatch(Placement::duplicate);
    }
}

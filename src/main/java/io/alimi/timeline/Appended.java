package io.alimi.timeline;

import java.util.List;

/**
 * The outcome of appending one event: one placement per target scope, in the order of its targets.
 */
public record Appended(String eventId, List<Placement> placements) {

    public Appended {
        placements = List.copyOf(placements);
    }

    /** True when every scope already had this event. */
    public boolean duplicate() {
        return placements.stream().allMatch(Placement::duplicate);
    }
}

package io.alimi.timeline;

import io.alimi.event.Scope;

/**
 * Where an entry stands in an admin's merged timeline: its stream entry id, then its scope's text as a tie-break.
 * Entries of different scopes are ordered by the time Redis appended them; the order is total, so a page boundary
 * is exact. Text form {@code <millis>-<sequence>.<scope>}, e.g. {@code 1732500000000-0.mall:1}.
 */
public record TimelinePosition(StreamId id, Scope scope) implements Comparable<TimelinePosition> {

    public static TimelinePosition of(Entry entry, Scope scope) {
        return new TimelinePosition(entry.id(), scope);
    }

    /**
     * @throws IllegalArgumentException naming what is wrong
     */
    public static TimelinePosition parse(String text) {
        int dot = text.indexOf('.');
        if (dot <= 0 || dot == text.length() - 1) {
            throw new IllegalArgumentException("a timeline position is <entry id>.<scope>, like 1732500000000-0.mall:1");
        }
        StreamId id;
        try {
            id = StreamId.parse(text.substring(0, dot));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a timeline position starts with an entry id, like 1732500000000-0");
        }
        return new TimelinePosition(id, Scope.parse(text.substring(dot + 1)));
    }

    @Override
    public int compareTo(TimelinePosition other) {
        int byId = id.compareTo(other.id);
        return byId != 0 ? byId : scope.toString().compareTo(other.scope.toString());
    }

    @Override
    public String toString() {
        return id + "." + scope;
    }
}

package io.alimi.hub;

import io.alimi.event.Scope;
import io.alimi.timeline.StreamId;

import java.util.List;

/**
 * What a session hands its transport to write, in order. Each carries the cursor that stands after it: a client
 * that stores the cursor of the last item it received resumes exactly there.
 */
public sealed interface Item {

    String cursor();

    /** First item of every session: which scopes it follows and whether it resumed from a cursor. */
    record Ready(List<Scope> scopes, boolean resumed, String cursor) implements Item {
    }

    /**
     * An event of a followed scope.
     *
     * @param quiet the admin muted it on the live channel but keeps it in the inbox: list and count it, no toast
     */
    record Event(LiveEvent event, String cursor, boolean quiet) implements Item {

        public Event(LiveEvent event, String cursor) {
            this(event, cursor, false);
        }
    }

    /**
     * Entries of a scope this client will not receive.
     *
     * @param reason  {@code trimmed}: removed by retention before the client got them (on resume, or while live when
     *                retention outran the stream); {@code reset}: the stream was lost and started again (a new
     *                epoch), everything after {@code after} in the old one is gone; {@code behind}: too many to
     *                replay, still readable from the timeline API
     * @param after   the last position the client had in that scope
     * @param through the last entry not received, when known
     */
    record Gap(Scope scope, String reason, StreamId after, StreamId through, String cursor) implements Item {
    }

    /**
     * Scopes the client's cursor followed that the admin is no longer entitled to: they are dropped, the rest
     * resumed. Comes right after {@link Ready}, when there are any.
     */
    record Revoked(List<Scope> scopes, String cursor) implements Item {
    }

    /** The cursor moved without an event to show (a copy, through another scope, of an event already delivered). */
    record Advance(String cursor) implements Item {
    }

    /**
     * The admin's unread count changed (they read events in another tab or device), or its first value when the
     * client asked for it. The cursor does not move.
     */
    record Unread(int count, boolean capped, String cursor) implements Item {
    }
}

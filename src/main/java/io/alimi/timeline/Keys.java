package io.alimi.timeline;

import io.alimi.event.Scope;

/**
 * Redis key names of the timeline. Every key of a scope carries the hash tag {@code {<scope>}}, so a scope's
 * stream, meta hash and dedup keys live in one Redis Cluster slot and one Lua call may touch them all.
 */
public record Keys(String prefix) {

    public static final String DEFAULT_PREFIX = "alimi:";

    public Keys {
        if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new IllegalArgumentException("a key prefix must not contain braces: they would move the hash tag");
        }
    }

    /** {@code alimi:tl:{mall:1}} */
    public String stream(Scope scope) {
        return prefix + "tl:{" + scope + "}";
    }

    /** {@code alimi:tl:{mall:1}:meta} */
    public String meta(Scope scope) {
        return stream(scope) + ":meta";
    }

    /** {@code alimi:tl:{mall:1}:ev:<event id>} */
    public String dedup(Scope scope, String eventId) {
        return stream(scope) + ":ev:" + eventId;
    }

    /** {@code alimi:ticket:<digest>}: a one-time stream ticket (its own slot; tickets are single keys). */
    public String ticket(String digest) {
        return prefix + "ticket:" + digest;
    }

    /** {@code alimi:rd:{admin:42}}: the admin's "read up to" marker. */
    public String readMarker(String adminNo) {
        return prefix + "rd:{" + Scope.admin(adminNo) + "}";
    }

    /** {@code alimi:rd:{admin:42}:ids}: events the admin read one by one, above the marker. */
    public String readIds(String adminNo) {
        return readMarker(adminNo) + ":ids";
    }

    /** {@code alimi:rd-changed}: the Pub/Sub channel where a read-state change is announced (message: admin number). */
    public String readChangedChannel() {
        return prefix + "rd-changed";
    }

    /** {@code alimi:export:<job>}: a demo console export file, kept for an hour. */
    public String export(String job) {
        return prefix + "export:" + job;
    }

    /** {@code alimi:dev:{admin:42}}: the admin's registered devices, FCM token → details. */
    public String devices(String adminNo) {
        return prefix + "dev:{" + Scope.admin(adminNo) + "}";
    }

    /** {@code alimi:devown:<digest of token>}: which admin a device token belongs to now. */
    public String deviceOwner(String tokenDigest) {
        return prefix + "devown:" + tokenDigest;
    }

    /** {@code alimi:push:{q}}: push work, one entry per push-flagged event, read by the push workers' group. */
    public String pushQueue() {
        return prefix + "push:{q}";
    }

    /** {@code alimi:push:{q}:ev:<event id>}: the event is in the push queue already. */
    public String pushDedup(String eventId) {
        return pushQueue() + ":ev:" + eventId;
    }

    /** {@code alimi:push:{q}:dlq}: pushes that failed for good, for an operator to inspect and replay. */
    public String pushDeadLetters() {
        return pushQueue() + ":dlq";
    }

    /** {@code alimi:push:{q}:sent:<entry id>}: devices and topics an entry has reached (a retried entry skips them). */
    public String pushSent(String entryId) {
        return pushQueue() + ":sent:" + entryId;
    }
}

package io.alimi.timeline;

import io.alimi.event.EventId;
import io.alimi.event.Scope;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Redis key names of the timeline. All keys of one scope share a Redis Cluster hash tag, so they live in one
 * slot and one Lua call may touch them all.
 *
 * <p>On a single Redis the tag is the scope itself ({@code alimi:tl:{mall:1}}). In a Redis Cluster it is one of
 * {@code shards} shard tags chosen from the scope ({@code alimi:tl:{s12}:mall:1}): Redis refuses a command whose
 * keys are in different slots, even on one server, so the relay's blocking XREAD can only cover streams of one
 * slot; with shard tags, one XREAD per shard covers every followed stream, whatever the number of scopes. The
 * shard count is part of the key names: every node must use the same, and changing it starts new timelines.
 */
public record Keys(String prefix, int shards) {

    public static final String DEFAULT_PREFIX = "alimi:";
    public static final int DEFAULT_CLUSTER_SHARDS = 32;

    public Keys {
        if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new IllegalArgumentException("a key prefix must not contain braces: they would move the hash tag");
        }
        if (shards < 0 || shards > 16_384) {
            throw new IllegalArgumentException("shards must be between 1 and 16384 (0 for a single Redis): " + shards);
        }
    }

    /** Keys for a single Redis: each scope is its own hash tag. */
    public Keys(String prefix) {
        this(prefix, 0);
    }

    /** {@code alimi:tl:{mall:1}}, or in a cluster {@code alimi:tl:{s12}:mall:1} */
    public String stream(Scope scope) {
        if (shards == 0) {
            return prefix + "tl:{" + scope + "}";
        }
        return prefix + "tl:{s" + shard(scope) + "}:" + scope;
    }

    /** The scope's shard, from 0 to {@code shards - 1}: a CRC-32 of its text, the same on every node and version. */
    int shard(Scope scope) {
        CRC32 crc = new CRC32();
        crc.update(scope.toString().getBytes(StandardCharsets.UTF_8));
        return (int) (crc.getValue() % shards);
    }

    /** {@code alimi:tl:{mall:1}:meta} */
    public String meta(Scope scope) {
        return stream(scope) + ":meta";
    }

    /**
     * {@code alimi:tl:{mall:1}:sid:<digest>}: the entry the event (its source and id, {@link EventId#keyText})
     * got in this scope, kept for the dedup window. An event without a recorded source (stored before sources
     * were) has only its {@link #legacyDedup} key.
     */
    public String dedup(Scope scope, EventId event) {
        return event.source() == null ? legacyDedup(scope, event.id()) : dedupInStream(stream(scope), event.keyText());
    }

    /** {@link #dedup}, given the scope's {@link #stream} key and the event's {@link EventId#keyText}. */
    String dedupInStream(String streamKey, String keyText) {
        return streamKey + ":sid:" + keyText;
    }

    /** {@code alimi:tl:{mall:1}:ev:<event id>}: the dedup key as written before events were told apart by source. */
    public String legacyDedup(Scope scope, String eventId) {
        return legacyDedupInStream(stream(scope), eventId);
    }

    String legacyDedupInStream(String streamKey, String eventId) {
        return streamKey + ":ev:" + eventId;
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

    /** {@code alimi:prefs:{admin:42}}: the admin's saved notification preferences (JSON); absent: the defaults. */
    public String preferences(String adminNo) {
        return prefix + "prefs:{" + Scope.admin(adminNo) + "}";
    }

    /** {@code alimi:prefs-changed}: the Pub/Sub channel where a change of preferences is announced (message: admin number). */
    public String preferencesChangedChannel() {
        return prefix + "prefs-changed";
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

    /** {@code alimi:pushto:{mall:1}}: the admins whose devices get the scope's pushes (admin number → lease end, ms). */
    public String pushAudience(Scope scope) {
        return prefix + "pushto:{" + scope + "}";
    }

    /** {@code alimi:pushof:{admin:42}}: the broad scopes an admin with devices is in the push audience of. */
    public String pushEnrolment(String adminNo) {
        return prefix + "pushof:{" + Scope.admin(adminNo) + "}";
    }

    /** {@code alimi:push:{q}}: push work, one entry per push-flagged event, read by the push workers' group. */
    public String pushQueue() {
        return prefix + "push:{q}";
    }

    /** {@code alimi:push:{q}:dropped}: how many pushes the queue's cap has dropped, ever (a counter). */
    public String pushDropped() {
        return pushQueue() + ":dropped";
    }

    /** {@code alimi:push:{q}:sid:<digest>}: the event (its source and id) is in the push queue already. */
    public String pushDedup(EventId event) {
        return pushQueue() + ":sid:" + event.keyText();
    }

    /** {@code alimi:push:{q}:ev:<event id>}: the push dedup key as written before events were told apart by source. */
    public String legacyPushDedup(String eventId) {
        return pushQueue() + ":ev:" + eventId;
    }

    /**
     * {@code alimi:fs:<digest>}: a set of scopes too large to travel in a cursor, stored so that a cursor naming
     * its digest can be resumed exactly (see {@code io.alimi.event.Cursor}). Its own slot: one key per set.
     */
    public String followedSet(String digest) {
        return prefix + "fs:" + digest;
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

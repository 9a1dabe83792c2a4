package io.alimi.timeline;

import io.alimi.event.Scope;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What an admin has read, kept in Redis per admin (so every tab and node agrees): a "read up to" position in the
 * merged timeline, which only moves forward, and the events read one by one above it (at most
 * {@value #MAX_READ_ONE_BY_ONE}, the oldest forgotten first).
 *
 * <p>Both keys expire after the timeline's maximum age without a write: by then every entry still kept is newer
 * than the marker anyway, so forgetting it changes nothing.
 */
public final class ReadState {

    /** Unread counts stop here: the badge shows "99+". */
    public static final int UNREAD_CAP = 99;
    static final int MAX_READ_ONE_BY_ONE = 1000;

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final MergedTimeline merged;
    private final Duration timeToLive;
    private final LuaScript markScript = LuaScript.load("read_mark");

    public ReadState(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, Timeline timeline, Duration timeToLive) {
        this.redis = redis;
        this.keys = keys;
        this.merged = new MergedTimeline(timeline);
        this.timeToLive = timeToLive;
    }

    /** An admin's read marks. */
    public record Marks(Optional<TimelinePosition> upTo, Set<String> readOneByOne) {

        public boolean isRead(TimelinePosition position, String eventId) {
            return upTo.isPresent() && position.compareTo(upTo.get()) <= 0 || readOneByOne.contains(eventId);
        }
    }

    /** How many events are unread, up to the cap. */
    public record Unread(int count, boolean capped) {

        /** What a badge shows: the count, or "99+". */
        public String text() {
            return capped ? UNREAD_CAP + "+" : Integer.toString(count);
        }
    }

    public MergedTimeline merged() {
        return merged;
    }

    /** @throws java.util.concurrent.CompletionException when Redis cannot be reached */
    public Marks marks(String adminNo) {
        RedisFuture<List<KeyValue<String, byte[]>>> marker = redis.hmget(keys.readMarker(adminNo), "ms", "seq", "scope");
        RedisFuture<List<byte[]>> ids = redis.zrange(keys.readIds(adminNo), 0, -1);
        return new Marks(position(marker.toCompletableFuture().join()), texts(ids.toCompletableFuture().join()));
    }

    /**
     * Marks everything up to {@code position} (inclusive) read; a position behind the current marker changes
     * nothing. Returns the marker in force.
     */
    public Optional<TimelinePosition> markUpTo(String adminNo, TimelinePosition position) {
        CompletableFuture<List<Object>> reply = markScript.call(redis, ScriptOutputType.MULTI,
                new String[] {keys.readMarker(adminNo), keys.readIds(adminNo)},
                bytes(Long.toString(position.id().millis())), bytes(Long.toString(position.id().sequence())),
                bytes(position.scope().toString()), bytes(Long.toString(timeToLive.toSeconds())));
        List<Object> values = reply.join();
        announce(adminNo);
        return values.get(0) == null ? Optional.empty() : Optional.of(new TimelinePosition(
                new StreamId(Long.parseLong(text(values.get(0))), Long.parseLong(text(values.get(1)))),
                Scope.parse(text(values.get(2)))));
    }

    /** Marks one event read (by its event id), whatever its place. */
    public void markEvent(String adminNo, String eventId) {
        String key = keys.readIds(adminNo);
        CompletableFuture.allOf(
                redis.zadd(key, (double) System.currentTimeMillis(), bytes(eventId)).toCompletableFuture(),
                redis.zremrangebyrank(key, 0, -(MAX_READ_ONE_BY_ONE + 1)).toCompletableFuture(),
                redis.expire(key, timeToLive.toSeconds()).toCompletableFuture()).join();
        announce(adminNo);
    }

    /** Tells every node that this admin's read state changed (their live sessions update their unread count). */
    private void announce(String adminNo) {
        redis.publish(keys.readChangedChannel(), bytes(adminNo)).toCompletableFuture().join();
    }

    /** The newest position among {@code scopes}, if any has entries: what "mark all read" marks up to. */
    public Optional<TimelinePosition> newest(Collection<Scope> scopes) {
        List<MergedTimeline.Item> items = merged.page(scopes, Optional.empty(), Optional.empty(), 1, entry -> true).items();
        return items.isEmpty() ? Optional.empty() : Optional.of(items.get(0).position());
    }

    /**
     * Unread events of {@code scopes} for this admin, counted up to {@link #UNREAD_CAP} and one more.
     *
     * @param inInbox the entries that count (those the admin did not mute in their inbox)
     */
    public Unread unread(String adminNo, Collection<Scope> scopes, java.util.function.Predicate<Entry> inInbox) {
        Marks marks = marks(adminNo);
        int counted = merged.page(scopes, Optional.empty(), marks.upTo(), UNREAD_CAP + 1,
                entry -> !marks.readOneByOne().contains(entry.eventId()) && inInbox.test(entry)).items().size();
        return new Unread(Math.min(counted, UNREAD_CAP), counted > UNREAD_CAP);
    }

    private static Optional<TimelinePosition> position(List<KeyValue<String, byte[]>> fields) {
        if (fields.size() < 3 || !fields.get(0).hasValue() || !fields.get(1).hasValue() || !fields.get(2).hasValue()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new TimelinePosition(new StreamId(Long.parseLong(text(fields.get(0).getValue())),
                    Long.parseLong(text(fields.get(1).getValue()))), Scope.parse(text(fields.get(2).getValue()))));
        } catch (IllegalArgumentException corrupt) {
            return Optional.empty();
        }
    }

    private static Set<String> texts(List<byte[]> values) {
        Set<String> texts = new HashSet<>();
        values.forEach(value -> texts.add(text(value)));
        return texts;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Object value) {
        return value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(value);
    }
}

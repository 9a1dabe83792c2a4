package io.alimi.timeline;

import io.alimi.event.Envelope;
import io.alimi.event.EventId;
import io.alimi.event.Scope;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.RedisProcess;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisTimelineIT {

    private static final Scope MALL_1 = Scope.mall("1");
    private static final Scope ADMIN_42 = Scope.admin("42");
    private static RedisProcess redis;
    private static RedisConnector connector;
    private static RedisLink connection;

    @BeforeAll
    static void connect() {
        redis = TestServers.redis();
        connector = RedisConnector.create(redis.url(), Duration.ofSeconds(5));
        connection = connector.connect(Duration.ofSeconds(5));
    }

    @AfterAll
    static void close() {
        connection.close();
        connector.close();
    }

    private static RedisTimeline timeline(Retention retention) {
        return new RedisTimeline(connection, new Keys(TestServers.uniquePrefix()), retention, new RedisTimeline.Meters());
    }

    private static RedisTimeline timeline() {
        return timeline(Retention.DEFAULTS);
    }

    private static List<Appended> append(Timeline timeline, Envelope... events) {
        return timeline.append(List.of(events)).join();
    }

    @Test
    void sameEventIdTwiceMakesOneEntryAndReturnsTheOriginalEntryId() {
        RedisTimeline timeline = timeline();
        Appended first = append(timeline, Events.envelope("e-1", "mall:1")).get(0);
        Appended second = append(timeline, Events.envelope("e-1", "mall:1")).get(0);

        assertFalse(first.duplicate());
        assertTrue(second.duplicate());
        assertEquals(first.placements().get(0).entryId(), second.placements().get(0).entryId());
        assertEquals(1, timeline.bounds(MALL_1).join().length());
    }

    @Test
    void sameEventIdTwiceInOneCallIsAlsoOneEntry() {
        RedisTimeline timeline = timeline();
        List<Appended> results = append(timeline, Events.envelope("e-1", "mall:1"), Events.envelope("e-1", "mall:1"));

        assertTrue(results.get(1).duplicate());
        assertEquals(results.get(0).placements().get(0).entryId(), results.get(1).placements().get(0).entryId());
        assertEquals(1, timeline.bounds(MALL_1).join().length());
    }

    @Test
    void anEventForTwoScopesIsOneEntryInEach() {
        RedisTimeline timeline = timeline();
        Appended appended = append(timeline, Events.envelope("e-1", "mall:1,admin:42")).get(0);

        assertEquals(List.of(MALL_1, ADMIN_42), appended.placements().stream().map(Placement::scope).toList());
        for (Scope scope : List.of(MALL_1, ADMIN_42)) {
            List<Entry> entries = timeline.readAfter(scope, StreamId.ZERO, 10).join();
            assertEquals(1, entries.size(), scope.toString());
            assertEquals("e-1", entries.get(0).eventId());
            assertEquals("order.created", entries.get(0).type());
        }
    }

    private static final EventId ORDERS_E9 = new EventId("/orders", "e-9");

    @Test
    void theEntryOfAnEventInEachScopeCanBeLookedUpByItsSourceAndId() {
        RedisTimeline timeline = timeline();
        Appended appended = append(timeline, Events.envelope("e-9", "mall:1,admin:42")).get(0);

        assertEquals(java.util.Optional.of(appended.placements().get(0).entryId()), timeline.entryOf(MALL_1, ORDERS_E9).join());
        assertEquals(java.util.Optional.of(appended.placements().get(1).entryId()), timeline.entryOf(ADMIN_42, ORDERS_E9).join());
        assertEquals(java.util.Optional.empty(), timeline.entryOf(Scope.mall("2"), ORDERS_E9).join());
        assertEquals(java.util.Optional.empty(), timeline.entryOf(MALL_1, new EventId("/orders", "never-sent")).join());
    }

    @Test
    void aDuplicateForOneScopeDoesNotStopTheEventReachingANewScope() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "mall:1"));
        Appended again = append(timeline, Events.envelope("e-1", "mall:1,admin:42")).get(0);

        assertTrue(again.placements().get(0).duplicate());
        assertFalse(again.placements().get(1).duplicate());
        assertFalse(again.duplicate());
        assertEquals(1, timeline.bounds(ADMIN_42).join().length());
    }

    /**
     * The chunks of a scope are pipelined; a chunk that fails part-way (here: a dedup key of the wrong type, a
     * Redis error at its 51st event) must stop every later chunk of the append, which are already on their way.
     * Nothing after the failure lands, and once the fault is gone a retry stores everything, in order, once.
     */
    @Test
    void aChunkFailingPartWayStopsTheLaterChunksAlreadyOnTheirWayAndARetryStoresAllInOrder() {
        RedisTimeline timeline = timeline();
        List<Envelope> events = new ArrayList<>();
        for (int i = 0; i < RedisTimeline.CHUNK * 4; i++) {
            events.add(Events.envelope("p-" + i, "mall:1"));
        }
        int broken = RedisTimeline.CHUNK + 50;
        String brokenKey = timeline.keys().dedup(MALL_1, new EventId(events.get(broken).source(), events.get(broken).id()));
        connection.sync().hset(brokenKey, "not", bytes("a string"));

        java.util.concurrent.CompletionException failed = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.CompletionException.class, () -> timeline.append(events).join());
        assertTrue(String.valueOf(failed.getCause()).contains("WRONGTYPE") || String.valueOf(failed.getCause()).contains("ALIMI_OUT_OF_ORDER"),
                String.valueOf(failed.getCause()));
        assertEquals(ids(events.subList(0, broken)), storedIds(timeline, MALL_1),
                "the events before the failure, in order, and nothing after it");

        connection.sync().del(brokenKey);
        List<Appended> retried = timeline.append(events).join();
        assertEquals(ids(events), storedIds(timeline, MALL_1));
        assertEquals(broken, retried.stream().filter(Appended::duplicate).count(), "the stored ones came back as duplicates");
    }

    /**
     * The bridge sends a batch's append behind the previous batch's, without waiting for it. If the earlier one
     * fails part-way, the later one must land nothing in the scopes they share (it would overtake the earlier
     * one's unwritten events) and may land in the others; retrying both, in order, stores every scope in order.
     */
    @Test
    void anAppendSentBehindOneThatFailsLandsNothingInTheScopesTheyShareUntilBothAreRetriedInOrder() {
        RedisTimeline timeline = timeline();
        List<Envelope> first = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            first.add(Events.envelope("p-" + i, i % 3 == 0 ? "mall:1,admin:42" : "mall:1"));
        }
        List<Envelope> second = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            second.add(Events.envelope("q-" + i, i % 2 == 0 ? "mall:1" : "mall:2"));
        }
        int broken = 150;
        String brokenKey = timeline.keys().dedup(MALL_1, new EventId(first.get(broken).source(), first.get(broken).id()));
        connection.sync().hset(brokenKey, "not", bytes("a string"));

        Timeline.Appending earlier = timeline.appendAfter(first, Timeline.Tail.NONE);
        Timeline.Appending later = timeline.appendAfter(second, earlier.tail());
        assertThrows(java.util.concurrent.CompletionException.class, () -> earlier.result().join());
        java.util.concurrent.CompletionException refused = assertThrows(
                java.util.concurrent.CompletionException.class, () -> later.result().join());
        assertTrue(String.valueOf(refused.getCause()).contains("ALIMI_OUT_OF_ORDER"), String.valueOf(refused.getCause()));
        assertEquals(ids(first.subList(0, broken)), storedIds(timeline, MALL_1), "the later append overtook nothing");
        assertEquals(List.of("q-1", "q-3", "q-5", "q-7", "q-9"), storedIds(timeline, Scope.mall("2")),
                "a scope the earlier append does not touch is not held back");

        connection.sync().del(brokenKey);
        timeline.append(first).join();
        timeline.append(second).join();
        List<String> expected = new ArrayList<>(ids(first));
        second.stream().filter(e -> e.targets().contains(MALL_1)).forEach(e -> expected.add(e.id()));
        assertEquals(expected, storedIds(timeline, MALL_1));
        assertEquals(List.of("q-1", "q-3", "q-5", "q-7", "q-9"), storedIds(timeline, Scope.mall("2")), "once");
        assertEquals(ids(first.stream().filter(e -> e.targets().contains(ADMIN_42)).toList()), storedIds(timeline, ADMIN_42));
    }

    @Test
    void anAppendSentBehindOneThatSucceedsLandsAfterItInEveryScope() {
        RedisTimeline timeline = timeline();
        List<Envelope> first = new ArrayList<>();
        List<Envelope> second = new ArrayList<>();
        for (int i = 0; i < RedisTimeline.CHUNK * 2 + 3; i++) {
            first.add(Events.envelope("p-" + i, "mall:1,admin:42"));
            second.add(Events.envelope("q-" + i, "mall:1"));
        }
        Timeline.Appending earlier = timeline.appendAfter(first, Timeline.Tail.NONE);
        Timeline.Appending later = timeline.appendAfter(second, earlier.tail());
        earlier.result().join();
        later.result().join();

        List<String> expected = new ArrayList<>(ids(first));
        expected.addAll(ids(second));
        assertEquals(expected, storedIds(timeline, MALL_1));
        assertEquals(Timeline.Tail.of(second).last(), later.tail().last());
    }

    private static List<String> ids(List<Envelope> events) {
        return events.stream().map(Envelope::id).toList();
    }

    private static List<String> storedIds(Timeline timeline, Scope scope) {
        return timeline.readAfter(scope, StreamId.ZERO, 10_000).join().stream().map(Entry::eventId).toList();
    }

    /** A stream further along than the last entry the script recorded (written by hand) still takes the event. */
    @Test
    void aStreamPastTheRecordedLastEntryStillTakesTheEventUnderAnIdRedisPicks() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "mall:1"));
        String ahead = (System.currentTimeMillis() + 3_600_000) + "-0";
        connection.sync().xadd(timeline.keys().stream(MALL_1), new io.lettuce.core.XAddArgs().id(ahead),
                java.util.Map.of("id", bytes("written-by-hand")));

        Appended second = append(timeline, Events.envelope("e-2", "mall:1")).get(0);
        assertFalse(second.duplicate());
        assertTrue(second.placements().get(0).entryId().compareTo(StreamId.parse(ahead)) > 0, second.toString());
        Appended retried = append(timeline, Events.envelope("e-2", "mall:1")).get(0);
        assertTrue(retried.duplicate());
        assertEquals(second.placements().get(0).entryId(), retried.placements().get(0).entryId(),
                "the dedup record names the entry the event really got");
        assertEquals(List.of("e-1", "written-by-hand", "e-2"), storedIds(timeline, MALL_1));
    }

    /** An entry the stream refuses leaves no dedup record behind, or a retry would take the event for stored. */
    @Test
    void anEntryTheStreamRefusesLeavesNoDedupRecordSoARetryStoresIt() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "mall:1"));
        String stream = timeline.keys().stream(MALL_1);
        connection.sync().del(stream);
        connection.sync().set(stream, bytes("not a stream"));

        assertThrows(java.util.concurrent.CompletionException.class,
                () -> append(timeline, Events.envelope("e-2", "mall:1")));
        assertEquals(java.util.Optional.empty(), timeline.entryOf(MALL_1, new EventId("/orders", "e-2")).join());

        connection.sync().del(stream);
        Appended retried = append(timeline, Events.envelope("e-2", "mall:1")).get(0);
        assertFalse(retried.duplicate(), "stored now, not taken for stored");
        assertEquals(List.of("e-2"), storedIds(timeline, MALL_1));
    }

    @Test
    void eventsLandInListOrderAcrossManyLuaCalls() {
        RedisTimeline timeline = timeline();
        List<Envelope> events = new ArrayList<>();
        for (int i = 0; i < RedisTimeline.CHUNK * 3 + 7; i++) {
            events.add(Events.envelope("e-" + i, i % 2 == 0 ? "mall:1" : "mall:1,admin:42"));
        }
        timeline.append(events).join();

        assertEquals(ids(events), storedIds(timeline, MALL_1));
    }

    @Test
    void twoProducersNumberingTheirEventsAlikeAreBothKeptAndEachOnesRetryIsADuplicateOfItsOwn() {
        RedisTimeline timeline = timeline();
        Appended a = append(timeline, Events.envelope("/billing", "1", "mall:1")).get(0);
        Appended b = append(timeline, Events.envelope("/claims", "1", "mall:1")).get(0);
        assertFalse(a.duplicate());
        assertFalse(b.duplicate(), "same id, another source: another event");
        Appended retried = append(timeline, Events.envelope("/claims", "1", "mall:1")).get(0);
        assertTrue(retried.duplicate());
        assertEquals("/claims", retried.source());
        assertEquals(b.placements().get(0).entryId(), retried.placements().get(0).entryId());
        List<Entry> stored = timeline.readAfter(MALL_1, StreamId.ZERO, 10).join();
        assertEquals(List.of("/billing", "/claims"), stored.stream().map(Entry::source).toList());
        assertEquals(new EventId("/claims", "1"), stored.get(1).event());
    }

    /** Streams written before sources were recorded: their dedup keys are by id alone, and entries have no src. */
    private static StreamId legacyAppend(RedisTimeline timeline, Scope scope, String id, String json, String epoch) {
        var redis = connection.sync();
        String entry = redis.xadd(timeline.keys().stream(scope), java.util.Map.of(
                "id", bytes(id), "type", bytes("order.created"), "to", bytes(scope.toString()), "ep", bytes(epoch),
                "event", bytes(json)));
        redis.hset(timeline.keys().meta(scope), "epoch", bytes(epoch));
        redis.set(timeline.keys().legacyDedup(scope, id), bytes(entry));
        return StreamId.parse(entry);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void dedupRecordsWrittenBeforeSourcesCountedStillStopARetryOfTheSameEventButNotAnotherSourcesForOneWindow() {
        RedisTimeline timeline = timeline(new Retention(100, Duration.ofDays(1), Duration.ofSeconds(2)));
        StreamId old = legacyAppend(timeline, MALL_1, "7", Events.json("/orders", "7", "mall:1", "{}"), "123456789");

        Appended retried = append(timeline, Events.envelope("/orders", "7", "mall:1")).get(0);
        assertTrue(retried.duplicate(), "the same event, retried across the upgrade");
        assertEquals(old, retried.placements().get(0).entryId());
        Appended other = append(timeline, Events.envelope("/claims", "7", "mall:1")).get(0);
        assertFalse(other.duplicate(), "another producer's event 7");
        assertEquals(2, timeline.readAfter(MALL_1, StreamId.ZERO, 10).join().size());
        assertEquals(null, timeline.readAfter(MALL_1, StreamId.ZERO, 10).join().get(0).source(), "stored before sources");
        assertEquals(new EventId(null, "7").hash(), LiveEventHash.of(timeline.readAfter(MALL_1, StreamId.ZERO, 1).join().get(0)));

        // Its record is by id alone and says nothing of a source: within the window, any "7" with that entry gone
        // counts as the same event (a second copy is the worse mistake); after it, only the new records count.
        connection.sync().xtrim(timeline.keys().stream(MALL_1), io.lettuce.core.XTrimArgs.Builder.minId(old.next().toString()));
        assertTrue(append(timeline, Events.envelope("/orders", "7", "mall:1")).get(0).duplicate());
        Await.until(Duration.ofSeconds(10), "the legacy window is over", () -> {
            connection.sync().set(timeline.keys().legacyDedup(MALL_1, "8"), bytes(old.toString()));
            return !append(timeline, Events.envelope("/orders", "8", "mall:1")).get(0).duplicate();
        });
    }

    /** What a session remembers an entry by. */
    private static final class LiveEventHash {
        static long of(Entry entry) {
            return entry.event().hash();
        }
    }

    @Test
    void aNewStreamsEpochIsItsCreationTimeAndItsFirstEntryIsExactlyThere() {
        RedisTimeline timeline = timeline();
        long before = System.currentTimeMillis();
        Appended first = append(timeline, Events.envelope("e-1", "mall:1")).get(0);
        StreamBounds bounds = timeline.bounds(MALL_1).join();
        assertTrue(bounds.epochNumber() >= StreamHead.TIME_EPOCHS);
        StreamHead head = timeline.heads(List.of(MALL_1)).join().get(0);
        assertEquals(head.createdMillis(), bounds.epochNumber());
        assertEquals(new StreamId(head.createdMillis(), 0), first.placements().get(0).entryId());
        assertTrue(Math.abs(head.createdMillis() - before) < 60_000, "the Redis clock: " + head.createdMillis());
        assertTrue(head.timeMillis() >= head.createdMillis());
        assertEquals(0, StreamHead.created(123_456_789L), "a random epoch from before: no creation time");
    }

    @Test
    void theHeadsOfManyScopesAreReadInAFewCallsAndAgreeWithEachScopesBounds() {
        RedisTimeline timeline = timeline(new Retention(5, Duration.ofDays(30), Duration.ofHours(1)));
        List<Scope> scopes = new ArrayList<>();
        for (int m = 0; m < RedisTimeline.HEADS_PER_CALL * 2 + 3; m++) {
            scopes.add(Scope.mall("h" + m));
        }
        for (int i = 0; i < 12; i++) {
            append(timeline, Events.envelope("h-" + i, "mall:h" + (i % 3) + ",mall:h500"));
        }
        // A stream written before its meta kept 'last': found from the stream itself.
        connection.sync().xadd(timeline.keys().stream(Scope.mall("h7")), java.util.Map.of("id", bytes("old")));
        List<StreamHead> heads = timeline.heads(scopes).join();
        assertEquals(scopes.size(), heads.size());
        for (int m = 0; m < scopes.size(); m++) {
            StreamBounds bounds = timeline.bounds(scopes.get(m)).join();
            assertEquals(bounds.epoch(), heads.get(m).epoch(), scopes.get(m).toString());
            assertEquals(bounds.last(), heads.get(m).last(), scopes.get(m).toString());
            assertEquals(bounds.trimmed(), heads.get(m).trimmed(), scopes.get(m).toString());
        }
        assertTrue(heads.get(500).trimmed().isPresent(), "mall:h500 had 12 entries, keeps 5");
        assertTrue(heads.get(7).last().isPresent());
        assertTrue(heads.get(9).last().isEmpty() && heads.get(9).epoch().isEmpty(), "never written");
    }

    @Test
    void everyEntryNamesTheOneBeforeItSoAReaderSeesWhatRetentionTookFromTheFirstEntryItReads() {
        RedisTimeline timeline = timeline(new Retention(10, Duration.ofDays(30), Duration.ofHours(1)));
        List<StreamId> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            ids.add(append(timeline, Events.envelope("e-" + i, "mall:1")).get(0).placements().get(0).entryId());
        }
        List<Entry> kept = timeline.readAfter(MALL_1, StreamId.ZERO, 100).join();
        StreamId trimmed = timeline.bounds(MALL_1).join().trimmed().orElseThrow();
        assertEquals(trimmed, kept.get(0).previous(), "the first kept entry names the newest removed one");
        for (int k = 1; k < kept.size(); k++) {
            assertEquals(kept.get(k - 1).id(), kept.get(k).previous());
        }
        assertEquals(ids.get(ids.size() - 1), kept.get(kept.size() - 1).id());
        append(timeline, Events.envelope("x-1", "admin:42"));
        assertEquals(StreamId.ZERO, timeline.readAfter(ADMIN_42, StreamId.ZERO, 1).join().get(0).previous());
    }

    @Test
    void theEpochIsCreatedWithTheStreamAndKeptByLaterAppends() {
        RedisTimeline timeline = timeline();
        assertTrue(timeline.bounds(MALL_1).join().epoch().isEmpty());

        append(timeline, Events.envelope("e-1", "mall:1"));
        String epoch = timeline.bounds(MALL_1).join().epoch().orElseThrow();
        for (int i = 2; i <= 5; i++) {
            append(timeline, Events.envelope("e-" + i, "mall:1"));
        }
        assertEquals(epoch, timeline.bounds(MALL_1).join().epoch().orElseThrow());
    }

    @Test
    void aLostAndRecreatedStreamHasANewEpoch() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "mall:1"));
        String before = timeline.bounds(MALL_1).join().epoch().orElseThrow();

        connection.sync().del(timeline.keys().stream(MALL_1));
        append(timeline, Events.envelope("e-2", "mall:1"));

        assertNotEquals(before, timeline.bounds(MALL_1).join().epoch().orElseThrow());
    }

    @Test
    void trimsByCountToExactlyMaxLengthAndRecordsTheNewestTrimmedEntry() {
        RedisTimeline timeline = timeline(new Retention(100, Duration.ofDays(30), Duration.ofHours(1)));
        List<Appended> all = new ArrayList<>();
        for (int batch = 0; batch < 10; batch++) {
            List<Envelope> events = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                events.add(Events.envelope("e-" + batch + "-" + i, "mall:1"));
            }
            all.addAll(timeline.append(events).join());
        }

        StreamBounds bounds = timeline.bounds(MALL_1).join();
        assertEquals(100, bounds.length());
        assertEquals(all.get(900).placements().get(0).entryId(), bounds.first().orElseThrow());
        assertEquals(all.get(899).placements().get(0).entryId(), bounds.trimmed().orElseThrow());
        assertEquals("e-9-99", timeline.readBefore(MALL_1, null, 1).join().get(0).eventId());
    }

    /**
     * Model-based: random appends of 1 to 700 events (trims of one entry, of the slack, and of many chunks at once)
     * to a stream kept at 300 entries. After each append the stream must hold the newest entries, at least the max
     * length and less than max length plus slack once it has reached it, and its trim mark must name exactly the
     * newest entry removed, as the model of every entry appended says.
     */
    @Test
    void theTrimMarkNamesExactlyTheNewestRemovedEntryAfterTrimsOfOneOfTheSlackAndOfManyChunks() {
        int maxLength = 300;
        int slack = 3;
        RedisTimeline timeline = timeline(new Retention(maxLength, Duration.ofDays(30), Duration.ofHours(1)));
        java.util.Random random = new java.util.Random(16);
        int[] sizes = {1, 1, 2, 3, 4, 50, 299, 700};
        List<StreamId> appended = new ArrayList<>();
        int trims = 0;
        for (int round = 0; round < 60; round++) {
            int size = sizes[random.nextInt(sizes.length)];
            List<Envelope> events = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                events.add(Events.envelope("t-" + round + "-" + i, "mall:1"));
            }
            for (Appended a : timeline.append(events).join()) {
                appended.add(a.placements().get(0).entryId());
            }
            StreamBounds bounds = timeline.bounds(MALL_1).join();
            int n = appended.size();
            long length = bounds.length();
            if (n < maxLength) {
                assertEquals(n, length, "round " + round);
            } else {
                assertTrue(length >= maxLength && length < maxLength + slack, "round " + round + ": length " + length);
            }
            int removed = n - (int) length;
            assertEquals(appended.get(removed), bounds.first().orElseThrow(), "round " + round + ": the oldest kept");
            if (removed == 0) {
                assertTrue(bounds.trimmed().isEmpty(), "round " + round);
            } else {
                trims++;
                assertEquals(appended.get(removed - 1), bounds.trimmed().orElseThrow(),
                        "round " + round + ": the trim mark after removing " + removed);
            }
        }
        assertTrue(trims > 30, "the history trimmed often: " + trims);
    }

    @Test
    void aStreamWhoseOldestEntriesPredateTheirPredecessorsIdIsTrimmedExactlyToo() {
        RedisTimeline timeline = timeline(new Retention(100, Duration.ofDays(30), Duration.ofHours(1)));
        List<StreamId> appended = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            appended.add(legacyAppend(timeline, MALL_1, "old-" + i, Events.json("/orders", "old-" + i, "mall:1", "{}"), "123456789"));
        }
        List<Envelope> events = new ArrayList<>();
        for (int i = 0; i < 45; i++) {
            events.add(Events.envelope("new-" + i, "mall:1"));
        }
        for (Appended a : timeline.append(events).join()) {
            appended.add(a.placements().get(0).entryId());
        }

        StreamBounds bounds = timeline.bounds(MALL_1).join();
        assertEquals(100, bounds.length());
        assertEquals(appended.get(5), bounds.first().orElseThrow());
        assertEquals(appended.get(4), bounds.trimmed().orElseThrow(), "the newest of the five entries without prev removed");
    }

    @Test
    void trimsByCountInBatchesOfOnePercent() {
        RedisTimeline timeline = timeline(new Retention(1_000, Duration.ofDays(30), Duration.ofHours(1)));
        List<Envelope> events = new ArrayList<>();
        for (int i = 0; i < 1_009; i++) {
            events.add(Events.envelope("e-" + i, "mall:1"));
        }
        timeline.append(events.subList(0, 1_009)).join();
        assertEquals(1_009, timeline.bounds(MALL_1).join().length(), "within the 10-entry slack nothing is trimmed");
        assertTrue(timeline.bounds(MALL_1).join().trimmed().isEmpty());

        timeline.append(List.of(Events.envelope("e-1009", "mall:1"))).join();
        assertEquals(1_000, timeline.bounds(MALL_1).join().length());
    }

    @Test
    void trimsByAgeOnTheNextAppendExactly() {
        Duration maxAge = Duration.ofMillis(300);
        RedisTimeline timeline = timeline(new Retention(10_000, maxAge, Duration.ofHours(1)));
        List<Envelope> old = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
            old.add(Events.envelope("old-" + i, "mall:1"));
        }
        List<Appended> appended = timeline.append(old).join();
        StreamId newestOld = appended.get(249).placements().get(0).entryId();
        Await.until(Duration.ofSeconds(5), "the old entries are older than the maximum age",
                () -> System.currentTimeMillis() > newestOld.millis() + maxAge.toMillis() + 5);

        append(timeline, Events.envelope("new", "mall:1"));

        StreamBounds bounds = timeline.bounds(MALL_1).join();
        assertEquals(1, bounds.length());
        assertEquals(newestOld, bounds.trimmed().orElseThrow());
    }

    @Test
    void aRecreatedStreamForgetsItsOldTrimMark() {
        RedisTimeline timeline = timeline(new Retention(1, Duration.ofDays(1), Duration.ofHours(1)));
        append(timeline, Events.envelope("e-1", "mall:1"), Events.envelope("e-2", "mall:1"), Events.envelope("e-3", "mall:1"));
        assertTrue(timeline.bounds(MALL_1).join().trimmed().isPresent());

        connection.sync().del(timeline.keys().stream(MALL_1));
        append(timeline, Events.envelope("e-4", "mall:1"));

        assertTrue(timeline.bounds(MALL_1).join().trimmed().isEmpty());
    }

    @Test
    void entriesCarryTheEventsTargets() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "admin:42, mall:1,admin:42"));
        assertEquals("admin:42,mall:1", timeline.readAfter(MALL_1, StreamId.ZERO, 1).join().get(0).targets());
    }

    @Test
    void dedupKeysExpireAfterTheirTtl() {
        RedisTimeline timeline = timeline(new Retention(100, Duration.ofDays(1), Duration.ofMinutes(7)));
        append(timeline, Events.envelope("e-1", "mall:1"));

        long ttl = connection.sync().pttl(timeline.keys().dedup(MALL_1, new EventId("/orders", "e-1")));
        assertTrue(ttl > Duration.ofMinutes(6).toMillis() && ttl <= Duration.ofMinutes(7).toMillis(), "ttl " + ttl);
    }

    @Test
    void readsAfterAPositionExclusivelyAndBeforeOneNewestFirst() {
        RedisTimeline timeline = timeline();
        List<Envelope> events = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            events.add(Events.envelope("e-" + i, "mall:1"));
        }
        List<Appended> appended = timeline.append(events).join();
        StreamId third = appended.get(2).placements().get(0).entryId();

        List<Entry> after = timeline.readAfter(MALL_1, third, 3).join();
        assertEquals(List.of("e-3", "e-4", "e-5"), after.stream().map(Entry::eventId).toList());

        List<Entry> before = timeline.readBefore(MALL_1, third, 5).join();
        assertEquals(List.of("e-1", "e-0"), before.stream().map(Entry::eventId).toList());

        List<Entry> newest = timeline.readBefore(MALL_1, null, 2).join();
        assertEquals(List.of("e-9", "e-8"), newest.stream().map(Entry::eventId).toList());

        StreamBounds bounds = timeline.bounds(MALL_1).join();
        assertEquals(10, bounds.length());
        assertEquals(appended.get(0).placements().get(0).entryId(), bounds.first().orElseThrow());
        assertEquals(appended.get(9).placements().get(0).entryId(), bounds.last().orElseThrow());
    }

    @Test
    void appendsStillWorkAfterRedisForgetsTheScript() {
        RedisTimeline timeline = timeline();
        append(timeline, Events.envelope("e-1", "mall:1"));
        connection.sync().scriptFlush();

        append(timeline, Events.envelope("e-2", "mall:1"));

        assertEquals(2, timeline.bounds(MALL_1).join().length());
    }

    @Test
    void theStoredEnvelopeIsTheProducersJsonOnOneLine() {
        RedisTimeline timeline = timeline();
        Envelope event = Events.read(Events.json("e-1", "mall:1", "{\"note\":\"line1\\nline2\\u2028\",\"n\":1.10}"));
        append(timeline, event);

        String stored = timeline.readAfter(MALL_1, StreamId.ZERO, 1).join().get(0).jsonText();
        assertEquals(event.jsonText(), stored);
        assertFalse(stored.contains("\n") || stored.contains("\r") || stored.contains("\u2028"), stored);
        assertTrue(stored.contains("1.10"), stored);
    }
}

package io.alimi.bridge;

import io.alimi.event.Envelope;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.Scope;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.ForwardingTimeline;
import io.alimi.support.KafkaBroker;
import io.alimi.support.TestServers;
import io.alimi.timeline.Entry;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model-based: histories of batches, some of whose appends fail in the ways Redis can fail them (half written then
 * the connection lost; all written but the answer lost; refused before writing), while the next batch is already
 * on its way behind them. The oracle: every scope ends with each of its events exactly once, and each producer key's
 * events in the order they were published (one key, one partition); in half the histories a second bridge joins
 * the group part-way, so partitions move while batches are pending or being polled.
 */
class BridgePipelineModelIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static KafkaBroker kafka;
    private static RedisConnector connector;
    private static RedisLink connection;
    private static Producer<byte[], byte[]> producer;

    @BeforeContainer
    static void servers() {
        kafka = TestServers.kafka();
        connector = RedisConnector.create(TestServers.redis().url(), Duration.ofSeconds(5));
        connection = connector.connect(Duration.ofSeconds(5));
        producer = kafka.producer();
    }

    @AfterContainer
    static void close() {
        producer.close();
        connection.close();
        connector.close();
    }

    enum Failure { HALF_WRITTEN, ANSWER_LOST, REFUSED }

    /**
     * Which append calls fail, and how; and whether a second bridge of the group joins once the first has made
     * {@code joinAfter} append calls (a rebalance mid-history: partitions taken from pending and half-polled batches).
     */
    record History(int records, int keys, int maxPollRecords, Map<Integer, Failure> failures, int joinAfter) {
        boolean secondJoins() {
            return joinAfter > 0;
        }
    }

    @Provide
    Arbitrary<History> histories() {
        Arbitrary<Map<Integer, Failure>> failures = Arbitraries.maps(Arbitraries.integers().between(1, 14),
                Arbitraries.of(Failure.class)).ofMinSize(1).ofMaxSize(5);
        return Combinators.combine(Arbitraries.integers().between(400, 2_500), Arbitraries.integers().between(1, 24),
                Arbitraries.integers().between(40, 400), failures,
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0)), Tuple.of(1, Arbitraries.integers().between(1, 4))))
                .as(History::new);
    }

    @Property(tries = 8, shrinking = ShrinkingMode.OFF)
    void everyScopeGetsEachEventOnceInKeyOrderWhateverBatchesFailBehindOrAheadOfEachOther(
            @ForAll("histories") History history) {
        String topic = TestServers.uniqueTopic("model");
        kafka.createTopic(topic, 4);
        // With a second bridge, batches small enough to outlast the rebalance (members learn of it by heartbeat).
        int maxPollRecords = history.secondJoins() ? Math.min(history.maxPollRecords(), history.records() / 20)
                : history.maxPollRecords();
        BridgeSettings settings = new BridgeSettings(kafka.bootstrap(), topic, TestServers.uniqueTopic("group"),
                topic + ".dlq", maxPollRecords, Duration.ofMillis(10), Duration.ofMillis(100),
                Duration.ofSeconds(10), Map.of());
        RedisTimeline timeline = new RedisTimeline(connection, new Keys(TestServers.uniquePrefix()), Retention.DEFAULTS,
                new RedisTimeline.Meters());
        Map<Scope, List<String>> expected = publish(topic, history);

        AtomicInteger calls = new AtomicInteger();
        Failing failing = new Failing(timeline, history.failures(), calls);
        List<Bridge> bridges = new ArrayList<>();
        // Slow answers keep the first bridge busy (polling between them) until the group has rebalanced.
        failing.slow = history.secondJoins();
        try {
            bridges.add(Bridge.create(settings, failing, new EnvelopeReader(EnvelopeLimits.DEFAULTS)).start());
            if (history.secondJoins()) {
                Await.until(WAIT, "the first bridge made " + history.joinAfter() + " appends, or is done",
                        () -> calls.get() >= history.joinAfter() || allThere(timeline, expected));
                Bridge second = Bridge.create(settings, timeline, new EnvelopeReader(EnvelopeLimits.DEFAULTS)).start();
                bridges.add(second);
                Await.until(WAIT, "the second bridge took part, or everything is there", () ->
                        second.appendedCount() + second.duplicateCount() > 0 || allThere(timeline, expected));
                failing.slow = false;
            }
            Await.until(WAIT, "every scope has its events (" + history + ")", () -> allThere(timeline, expected));
            for (Map.Entry<Scope, List<String>> scope : expected.entrySet()) {
                assertOnceInKeyOrder(scope.getKey(), scope.getValue(), entries(timeline, scope.getKey()), history);
            }
            for (Bridge bridge : bridges) {
                Await.until(WAIT, "every bridge is healthy (" + history + ")", () -> bridge.health().up());
            }
        } finally {
            bridges.reversed().forEach(Bridge::close);
        }
    }

    private static boolean allThere(Timeline timeline, Map<Scope, List<String>> expected) {
        return expected.entrySet().stream()
                .allMatch(e -> timeline.bounds(e.getKey()).join().length() >= e.getValue().size());
    }

    /** Record i: key k(i % keys), to its own mall and to the mall every key shares; data carries its sequence. */
    private Map<Scope, List<String>> publish(String topic, History history) {
        Map<Scope, List<String>> expected = new HashMap<>();
        Scope shared = Scope.mall("shared");
        for (int i = 0; i < history.records(); i++) {
            int key = i % history.keys();
            Scope own = Scope.mall("k" + key);
            String id = "e-" + i;
            String json = Events.json(id, own + "," + shared, "{\"key\":" + key + "}");
            producer.send(new ProducerRecord<>(topic, ("k" + key).getBytes(StandardCharsets.UTF_8),
                    json.getBytes(StandardCharsets.UTF_8)));
            expected.computeIfAbsent(own, s -> new ArrayList<>()).add(id);
            expected.computeIfAbsent(shared, s -> new ArrayList<>()).add(id);
        }
        producer.flush();
        return expected;
    }

    private static List<Entry> entries(Timeline timeline, Scope scope) {
        return timeline.readAfter(scope, StreamId.ZERO, 1_000_000).join();
    }

    /** Each expected id once, nothing else, and within each key the publish order (ids rise with it). */
    private static void assertOnceInKeyOrder(Scope scope, List<String> expected, List<Entry> stored, History history) {
        List<String> ids = stored.stream().map(Entry::eventId).toList();
        assertEquals(expected.size(), ids.size(), scope + ": entries (" + history + ")");
        assertEquals(new HashSet<>(expected), new HashSet<>(ids), scope + ": the events (" + history + ")");
        Map<Integer, Integer> last = new HashMap<>();
        for (String id : ids) {
            int i = Integer.parseInt(id.substring(2));
            Integer before = last.put(i % history.keys(), i);
            assertTrue(before == null || before < i, scope + ": key " + (i % history.keys()) + " had " + before
                    + " then " + i + " (" + history + ")");
        }
    }

    /** Fails the append calls the history names, the way it names. */
    private static final class Failing extends ForwardingTimeline {
        private final Map<Integer, Failure> failures;
        private final AtomicInteger calls;

        Failing(Timeline delegate, Map<Integer, Failure> failures, AtomicInteger calls) {
            super(delegate);
            this.failures = failures;
            this.calls = calls;
        }

        /** While set, every answer comes 500 ms late. */
        volatile boolean slow;

        @Override
        public Appending appendAfter(List<Envelope> events, Tail previous) {
            Failure failure = failures.get(calls.incrementAndGet());
            if (failure == null) {
                Appending appending = super.appendAfter(events, previous);
                return !slow ? appending : new Appending(appending.result().thenApplyAsync(r -> r,
                        CompletableFuture.delayedExecutor(500, java.util.concurrent.TimeUnit.MILLISECONDS)), appending.tail());
            }
            CompletableFuture<List<io.alimi.timeline.Appended>> failed =
                    CompletableFuture.failedFuture(new IllegalStateException("injected: " + failure));
            switch (failure) {
                case HALF_WRITTEN -> {
                    if (events.size() > 1) {
                        super.appendAfter(events.subList(0, events.size() / 2), previous).result()
                                .exceptionally(e -> null).join();
                    }
                }
                case ANSWER_LOST -> super.appendAfter(events, previous).result().exceptionally(e -> null).join();
                case REFUSED -> {
                }
            }
            return new Appending(failed, Tail.of(events));
        }
    }
}

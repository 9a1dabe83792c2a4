package io.alimi.bridge;

import io.alimi.event.Envelope;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.Scope;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.ForwardingTimeline;
import io.alimi.support.KafkaBroker;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;
import io.alimi.support.TestServers;
import io.alimi.timeline.Appended;
import io.alimi.timeline.Entry;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BridgeIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Scope MALL_1 = Scope.mall("1");
    private static final int KEYS = 8;
    private static KafkaBroker kafka;
    private static RedisConnector connector;
    private static RedisLink connection;
    private static Producer<byte[], byte[]> producer;

    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private String topic;
    private BridgeSettings settings;
    private RedisTimeline timeline;

    @BeforeAll
    static void servers() {
        kafka = TestServers.kafka();
        connector = RedisConnector.create(TestServers.redis().url(), Duration.ofSeconds(5));
        connection = connector.connect(Duration.ofSeconds(5));
        producer = kafka.producer();
    }

    @AfterAll
    static void close() {
        producer.close();
        connection.close();
        connector.close();
    }

    private void newTopic() {
        topic = TestServers.uniqueTopic("events");
        kafka.createTopic(topic, 4);
        settings = new BridgeSettings(kafka.bootstrap(), topic, TestServers.uniqueTopic("group"), topic + ".dlq", 200,
                Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofSeconds(10), Map.of());
        timeline = new RedisTimeline(connection, new Keys(TestServers.uniquePrefix()), Retention.DEFAULTS, new RedisTimeline.Meters());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeAfter.reversed()) {
            c.close();
        }
    }

    private Bridge bridge(Timeline store) {
        Bridge bridge = Bridge.create(settings, store, new EnvelopeReader(EnvelopeLimits.DEFAULTS));
        closeAfter.add(bridge);
        return bridge.start();
    }

    /** Record {@code i}: key k(i % KEYS), targets mall:1 and partner:k, data carries the per-key sequence. */
    private void produce(int from, int to) {
        for (int i = from; i < to; i++) {
            int key = i % KEYS;
            String json = Events.json("e-" + i, "mall:1,partner:k" + key, "{\"key\":" + key + ",\"seq\":" + (i / KEYS) + "}");
            producer.send(new ProducerRecord<>(topic, ("k" + key).getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8)));
        }
        producer.flush();
    }

    private List<Entry> entries(RedisTimeline store, Scope scope) {
        return store.readAfter(scope, StreamId.ZERO, 1_000_000).join();
    }

    private long length(Scope scope) {
        return timeline.bounds(scope).join().length();
    }

    /** Exactly n distinct events in mall:1 and in each partner scope its share, each key's sequence in order. */
    private void assertExactlyOnceInPartitionOrder(int n) {
        List<Entry> mall = entries(timeline, MALL_1);
        Set<String> ids = new HashSet<>();
        mall.forEach(e -> ids.add(e.eventId()));
        assertEquals(n, ids.size(), "distinct events in mall:1");
        assertEquals(n, mall.size(), "entries in mall:1 (a difference is a duplicate)");
        Map<Integer, Integer> lastSeq = new HashMap<>();
        for (Entry entry : mall) {
            int i = Integer.parseInt(entry.eventId().substring(2));
            Integer previous = lastSeq.put(i % KEYS, i / KEYS);
            assertTrue(previous == null || previous == i / KEYS - 1, "key " + (i % KEYS) + ": " + previous + " then " + (i / KEYS));
        }
        for (int key = 0; key < KEYS; key++) {
            int expected = n / KEYS + (key < n % KEYS ? 1 : 0);
            assertEquals(expected, entries(timeline, Scope.partner("k" + key)).size(), "partner:k" + key);
        }
    }

    @Test
    void everyRecordLandsExactlyOncePerTargetInPartitionOrder() {
        newTopic();
        Bridge bridge = bridge(timeline);
        produce(0, 3_000);

        Await.until(WAIT, "3000 events in mall:1", () -> length(MALL_1) >= 3_000);
        assertExactlyOnceInPartitionOrder(3_000);
        assertTrue(bridge.health().up(), bridge.health().detail());
        Await.until(WAIT, "6000 appends counted", () -> bridge.appendedCount() == 6_000);
    }

    @Test
    void aPoisonRecordGoesToTheDeadLetterTopicWithItsReasonAndTheRestFlows() throws Exception {
        newTopic();
        bridge(timeline);
        byte[] notJson = "not json at all".getBytes(StandardCharsets.UTF_8);
        byte[] noTargets = "{\"specversion\":\"1.0\",\"id\":\"p-2\",\"source\":\"/s\",\"type\":\"t\"}".getBytes(StandardCharsets.UTF_8);
        RecordHeaders badBinary = new RecordHeaders();
        badBinary.add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
        badBinary.add("ce_id", "p-3".getBytes(StandardCharsets.UTF_8));
        badBinary.add("ce_source", "/s".getBytes(StandardCharsets.UTF_8));
        badBinary.add("ce_type", "t".getBytes(StandardCharsets.UTF_8));
        badBinary.add("ce_targets", "mall:{1}".getBytes(StandardCharsets.UTF_8));
        byte[] key = "k0".getBytes(StandardCharsets.UTF_8);

        produce(0, 1);
        producer.send(new ProducerRecord<>(topic, key, notJson));
        producer.send(new ProducerRecord<>(topic, key, noTargets));
        producer.send(new ProducerRecord<>(topic, null, null, key, "{}".getBytes(StandardCharsets.UTF_8), badBinary));
        produce(1, KEYS * 10);

        Await.until(WAIT, "all valid events in mall:1", () -> length(MALL_1) >= KEYS * 10);
        assertExactlyOnceInPartitionOrder(KEYS * 10);

        List<ConsumerRecord<byte[], byte[]>> dead = readAll(topic + ".dlq", 3);
        assertArrayEquals(notJson, dead.get(0).value());
        assertTrue(header(dead.get(0), DeadLetters.REASON).startsWith("event: not valid JSON"), header(dead.get(0), DeadLetters.REASON));
        assertTrue(header(dead.get(0), DeadLetters.ORIGIN).startsWith(topic + "/"), header(dead.get(0), DeadLetters.ORIGIN));
        assertArrayEquals(key, dead.get(0).key());
        assertArrayEquals(noTargets, dead.get(1).value());
        assertTrue(header(dead.get(1), DeadLetters.REASON).startsWith("targets: required"), header(dead.get(1), DeadLetters.REASON));
        assertEquals("mall:{1}", header(dead.get(2), "ce_targets"), "original headers are kept");
        assertTrue(header(dead.get(2), DeadLetters.REASON).contains("invalid id"), header(dead.get(2), DeadLetters.REASON));
    }

    @Test
    void redisGoneForSecondsMidStreamLosesAndDuplicatesNothing() throws Exception {
        newTopic();
        Path dir = Files.createTempDirectory("alimi-redis-outage-");
        try (RedisProcess redis = RedisProcess.start(dir, Ports.free(),
                List.of("--appendonly", "yes", "--appendfsync", "always", "--save", ""));
             RedisConnector ownConnector = RedisConnector.create(redis.url(), Duration.ofSeconds(2))) {
            RedisLink own = ownConnector.connect(Duration.ofSeconds(5));
            timeline = new RedisTimeline(own, new Keys(TestServers.uniquePrefix()), Retention.DEFAULTS, new RedisTimeline.Meters());
            Bridge bridge = bridge(timeline);
            int total = 4_000;
            produce(0, total / 2);
            Await.until(WAIT, "some events appended", () -> length(MALL_1) > 200);

            redis.stop();
            // Published while Redis is away: the outage is mid-stream by construction.
            produce(total / 2, total);
            Await.until(WAIT, "the bridge reports the outage", () -> !bridge.health().up());
            assertTrue(bridge.health().detail().startsWith("retrying"), bridge.health().detail());
            long retriesAtStop = bridge.retryCount();
            // A few seconds of outage: several backoff rounds (50 ms doubling to 500 ms).
            Await.until(WAIT, "the bridge has retried 8 more times", () -> bridge.retryCount() >= retriesAtStop + 8);
            redis.start();

            Await.until(WAIT, "every event appended after Redis is back", () -> {
                try {
                    return length(MALL_1) >= total;
                } catch (RuntimeException stillReconnecting) {
                    return false;
                }
            });
            assertExactlyOnceInPartitionOrder(total);
            Await.until(WAIT, "the bridge reports healthy again", () -> bridge.health().up());
        }
    }

    @Test
    void aBridgeThatDiesMidBatchLosesNothingAndItsSuccessorDuplicatesNothing() {
        newTopic();
        AtomicInteger calls = new AtomicInteger();
        Timeline dyingMidBatch = new ForwardingTimeline(timeline) {
            @Override
            public Appending appendAfter(List<Envelope> events, Tail previous) {
                if (calls.incrementAndGet() == 3 && events.size() > 1) {
                    // Half the batch reaches Redis, then the process is gone: no commit follows.
                    super.appendAfter(events.subList(0, events.size() / 2), previous).result().join();
                    throw new SimulatedCrash();
                }
                return super.appendAfter(events, previous);
            }
        };
        Bridge first = bridge(dyingMidBatch);
        produce(0, 2_000);
        Await.until(WAIT, "the first bridge died", () -> first.health().detail().startsWith("failed"));
        long landedBeforeCrash = length(MALL_1);
        assertTrue(landedBeforeCrash > 0 && landedBeforeCrash < 2_000, "landed " + landedBeforeCrash);

        Bridge second = bridge(timeline);
        Await.until(WAIT, "all events in mall:1", () -> length(MALL_1) >= 2_000);
        assertExactlyOnceInPartitionOrder(2_000);
        assertTrue(second.duplicateCount() > 0, "the successor re-read the uncommitted half-batch");
    }

    /**
     * The bridge sends each batch's append behind the one before, without waiting for it. Here the third batch
     * reaches Redis only half-way and fails while the fourth is already on its way: the fourth must overtake none
     * of it (refused, not stored), and both are retried in order.
     */
    @Test
    void aBatchFailingHalfWayWhileTheNextIsOnItsWayIsRetriedFirstSoEveryScopeKeepsPartitionOrder() {
        newTopic();
        produce(0, 3_000);
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger refusedBehind = new AtomicInteger();
        Timeline failingHalfWay = new ForwardingTimeline(timeline) {
            @Override
            public Appending appendAfter(List<Envelope> events, Tail previous) {
                int call = calls.incrementAndGet();
                if (call == 3) {
                    super.appendAfter(events.subList(0, events.size() / 2), previous).result().join();
                    return new Appending(CompletableFuture.failedFuture(new IllegalStateException("lost half-way")),
                            Tail.of(events));
                }
                Appending appending = super.appendAfter(events, previous);
                if (call == 4) {
                    appending.result().whenComplete((done, failed) -> {
                        if (failed != null && String.valueOf(failed).contains("ALIMI_OUT_OF_ORDER")) {
                            refusedBehind.incrementAndGet();
                        }
                    });
                }
                return appending;
            }
        };
        Bridge bridge = bridge(failingHalfWay);

        Await.until(WAIT, "3000 events in mall:1", () -> length(MALL_1) >= 3_000);
        assertExactlyOnceInPartitionOrder(3_000);
        Await.until(WAIT, "the fourth batch was sent behind the third and refused", () -> refusedBehind.get() == 1);
        assertTrue(bridge.retryCount() >= 1, "the third batch was retried");
        Await.until(WAIT, "the bridge is healthy again", () -> bridge.health().up());
    }

    @Test
    void aStoppedBridgeFinishesAndCommitsItsBatchSoItsSuccessorStartsAfterIt() throws Exception {
        newTopic();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch inBatch = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Timeline slowBatch = new ForwardingTimeline(timeline) {
            @Override
            public Appending appendAfter(List<Envelope> events, Tail previous) {
                if (calls.incrementAndGet() == 3) {
                    inBatch.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return super.appendAfter(events, previous);
            }
        };
        Bridge first = bridge(slowBatch);
        produce(0, 2_000);
        assertTrue(inBatch.await(60, TimeUnit.SECONDS));

        CompletableFuture<Void> stopping = CompletableFuture.runAsync(first::close);
        Await.until(WAIT, "close() has asked the bridge to stop", first::stopRequested);
        release.countDown();
        stopping.get(30, TimeUnit.SECONDS);
        assertTrue(first.health().detail().startsWith("stopped"), first.health().detail());
        long committed = length(MALL_1);

        Bridge second = bridge(timeline);
        Await.until(WAIT, "all events in mall:1", () -> length(MALL_1) >= 2_000);
        assertExactlyOnceInPartitionOrder(2_000);
        assertTrue(committed > 0);
        assertEquals(0, second.duplicateCount(), "the stopped bridge committed everything it appended");
    }

    private List<ConsumerRecord<byte[], byte[]>> readAll(String fromTopic, int count) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap(),
                ConsumerConfig.GROUP_ID_CONFIG, TestServers.uniqueTopic("reader"),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(fromTopic));
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (records.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            assertEquals(count, records.size(), "records in " + fromTopic);
            return records;
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        assertFalse(header == null, "header " + name);
        return new String(header.value(), StandardCharsets.UTF_8);
    }

    /** Stands for the process vanishing: an Error the bridge does not catch. */
    private static final class SimulatedCrash extends Error {
        SimulatedCrash() {
            super("simulated crash", null, false, false);
        }
    }
}

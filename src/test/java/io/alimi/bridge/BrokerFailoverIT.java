package io.alimi.bridge;

import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.Scope;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.KafkaCluster;
import io.alimi.support.TestServers;
import io.alimi.timeline.Entry;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.StreamId;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bridge against a three-node Kafka cluster that loses a node, and gets it back, while events flow.
 *
 * <p>The node is stopped the way an operator stops one (a controlled shutdown), and it is the node the bridge
 * depends on most: its group coordinator, which also leads a partition it reads. The producer is idempotent with
 * acks=all, so Kafka itself holds each event once; what is checked is that the pipeline keeps it that way: the
 * topics and the offsets topic survive on the other two nodes, the bridge follows the new leaders and the new
 * coordinator, and each scope's stream ends with every event exactly once. The bridge's own redelivery handling
 * (commit after append, dedup) is not reached here, since a broker loss does not make the group rebalance;
 * {@link BridgeIT} exercises it.
 */
class BrokerFailoverIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int EVENTS = 4_000;
    private static final int KEYS = 8;
    private static final int PARTITIONS = 4;
    private static final Scope MALL_1 = Scope.mall("1");

    private static KafkaCluster kafka;
    private static RedisConnector connector;
    private static RedisLink connection;

    @RegisterExtension
    final Closer closer = new Closer();

    private RedisTimeline timeline;

    @BeforeAll
    static void servers() {
        kafka = KafkaCluster.startEphemeral();
        connector = RedisConnector.create(TestServers.redis().url(), Duration.ofSeconds(5));
        connection = connector.connect(Duration.ofSeconds(5));
    }

    @AfterAll
    static void close() {
        connection.close();
        connector.close();
        kafka.close();
    }

    @Test
    void theGroupCoordinatorAndPartitionLeaderStoppedAndRestartedUnderLoadLosesAndDuplicatesNothing() {
        String topic = TestServers.uniqueTopic("events");
        BridgeSettings settings = new BridgeSettings(kafka.bootstrap(), topic, TestServers.uniqueTopic("group"),
                topic + ".dlq", 200, Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofSeconds(10), Map.of());
        kafka.createTopic(topic, PARTITIONS);
        kafka.createTopic(settings.deadLetterTopic(), 1);
        timeline = new RedisTimeline(connection, new Keys(TestServers.uniquePrefix()), Retention.DEFAULTS, new RedisTimeline.Meters());
        Admin admin = closer.add(kafka.admin());
        Bridge bridge = closer.add(Bridge.create(settings, timeline, new EnvelopeReader(EnvelopeLimits.DEFAULTS)));
        bridge.start();
        SteadyLoad load = closer.add(new SteadyLoad(kafka.producer(), i -> record(topic, i), EVENTS));

        load.allowUpTo(EVENTS / 2);
        Await.until(WAIT, "a quarter of the events acknowledged and the bridge appending",
                () -> load.acknowledged() >= EVENTS / 4 && length(MALL_1) > 0);
        // The harder case: the bridge's commits and some of its fetches lose their broker at the same moment.
        int victim = coordinator(admin, settings.group());
        assertTrue(leaders(admin, topic).contains(victim),
                "precondition: coordinator " + victim + " also leads a partition of " + topic);

        kafka.stop(victim);
        int acknowledgedAtStop = load.acknowledged();
        long appendedAtStop = length(MALL_1);
        load.allowUpTo(EVENTS * 5 / 6);
        Await.until(WAIT, "events acknowledged by the two remaining brokers and appended by the bridge meanwhile",
                () -> load.acknowledged() >= acknowledgedAtStop + EVENTS / 6 && length(MALL_1) > appendedAtStop);

        kafka.start(victim);
        load.allowUpTo(EVENTS);
        Await.until(WAIT, "every event acknowledged", () -> load.acknowledged() == EVENTS);
        Await.until(WAIT, "the bridge committed every record", () -> committedToTheEnd(admin, topic, settings.group()));

        Set<String> all = ids(i -> true);
        assertEveryEventOnce(MALL_1, all);
        for (int key = 0; key < KEYS; key++) {
            int k = key;
            assertEveryEventOnce(Scope.partner("k" + key), ids(i -> i % KEYS == k));
        }
        assertEquals(0, bridge.deadLetteredCount(), "records dead-lettered");
        assertEquals(0, endOffsets(admin, settings.deadLetterTopic()), "records in " + settings.deadLetterTopic());
        assertTrue(bridge.health().up(), bridge.health().detail());
    }

    /**
     * Event {@code i}: id e-i, key k(i % KEYS), for mall:1 and that key's partner. The partition is chosen, not
     * hashed, so every partition, whichever node leads it, carries two keys' events.
     */
    private static ProducerRecord<byte[], byte[]> record(String topic, int i) {
        int key = i % KEYS;
        String json = Events.json("e-" + i, "mall:1,partner:k" + key, "{\"seq\":" + i + "}");
        return new ProducerRecord<>(topic, key % PARTITIONS, ("k" + key).getBytes(StandardCharsets.UTF_8),
                json.getBytes(StandardCharsets.UTF_8));
    }

    private static Set<String> ids(IntPredicate which) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < EVENTS; i++) {
            if (which.test(i)) {
                ids.add("e-" + i);
            }
        }
        return ids;
    }

    /** Counts the scope's stream entries themselves: a duplicate is a second entry, whatever the dedup keys say. */
    private void assertEveryEventOnce(Scope scope, Set<String> expected) {
        List<Entry> entries = timeline.readAfter(scope, StreamId.ZERO, 1_000_000).join();
        Set<String> seen = new HashSet<>();
        List<String> duplicated = new ArrayList<>();
        for (Entry entry : entries) {
            if (!seen.add(entry.eventId())) {
                duplicated.add(entry.eventId());
            }
        }
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(seen);
        Set<String> unexpected = new TreeSet<>(seen);
        unexpected.removeAll(expected);
        assertEquals(0, missing.size(), scope + ": missing events, e.g. " + sample(missing));
        assertEquals(0, duplicated.size(), scope + ": duplicated entries, e.g. " + sample(duplicated));
        assertEquals(0, unexpected.size(), scope + ": unexpected events, e.g. " + sample(unexpected));
        assertEquals(expected.size(), entries.size(), scope + ": stream entries");
        assertEquals(expected.size(), timeline.bounds(scope).join().length(), scope + ": stream length");
    }

    private static List<String> sample(Collection<String> ids) {
        return ids.stream().limit(10).toList();
    }

    private long length(Scope scope) {
        return timeline.bounds(scope).join().length();
    }

    private static int coordinator(Admin admin, String group) {
        return get(admin.describeConsumerGroups(List.of(group)).all()).get(group).coordinator().id();
    }

    private static Set<Integer> leaders(Admin admin, String topic) {
        TopicDescription description = get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
        return description.partitions().stream().map(TopicPartitionInfo::leader).filter(Objects::nonNull)
                .map(Node::id).collect(Collectors.toSet());
    }

    /** Whether the group's committed offset is the end of every partition: nothing left to append or redeliver. */
    private static boolean committedToTheEnd(Admin admin, String topic, String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, ListOffsetsResultInfo> ends = latest(admin, topic);
            return ends.entrySet().stream().allMatch(end -> {
                OffsetAndMetadata offset = committed.get(end.getKey());
                return (offset == null ? 0 : offset.offset()) == end.getValue().offset();
            });
        } catch (ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static long endOffsets(Admin admin, String topic) {
        try {
            return latest(admin, topic).values().stream().mapToLong(ListOffsetsResultInfo::offset).sum();
        } catch (ExecutionException e) {
            throw new AssertionError("end offsets of " + topic, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Map<TopicPartition, ListOffsetsResultInfo> latest(Admin admin, String topic)
            throws ExecutionException, InterruptedException {
        int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        return admin.listOffsets(request).all().get();
    }

    private static <T> T get(KafkaFuture<T> future) {
        try {
            return future.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("admin request failed", e);
        }
    }

    /**
     * Sends events 0 to total - 1 at a steady pace, a few per tick, but never past a limit the test raises phase
     * by phase: whatever a broker's stop or start costs, some events are sent while it stops, while it is down
     * and while it comes back.
     */
    private static final class SteadyLoad implements AutoCloseable {

        private static final int PER_TICK = 20;
        private static final Duration TICK = Duration.ofMillis(10);

        private final Producer<byte[], byte[]> producer;
        private final IntFunction<ProducerRecord<byte[], byte[]>> records;
        private final int total;
        private final ScheduledExecutorService pace =
                Executors.newSingleThreadScheduledExecutor(runnable -> new Thread(runnable, "steady-load"));
        private final AtomicInteger limit = new AtomicInteger();
        private final AtomicInteger acknowledged = new AtomicInteger();
        private final Queue<Exception> failures = new ConcurrentLinkedQueue<>();
        /** The next event to send; touched by the pace thread only. */
        private int next;

        SteadyLoad(Producer<byte[], byte[]> producer, IntFunction<ProducerRecord<byte[], byte[]>> records, int total) {
            this.producer = producer;
            this.records = records;
            this.total = total;
            pace.scheduleAtFixedRate(this::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
        }

        void allowUpTo(int count) {
            limit.set(Math.min(count, total));
        }

        /** Events the cluster acknowledged; fails the test as soon as one send failed for good. */
        int acknowledged() {
            Exception failure = failures.peek();
            if (failure != null) {
                throw new AssertionError("the producer gave up on an event", failure);
            }
            return acknowledged.get();
        }

        private void tick() {
            try {
                int until = Math.min(next + PER_TICK, limit.get());
                for (; next < until; next++) {
                    producer.send(records.apply(next), (metadata, e) -> {
                        if (e == null) {
                            acknowledged.incrementAndGet();
                        } else {
                            failures.add(e);
                        }
                    });
                }
            } catch (RuntimeException e) {
                // A scheduled task that throws is never run again: record it so the test fails instead of waiting.
                failures.add(e);
            }
        }

        @Override
        public void close() {
            pace.shutdownNow();
            try {
                pace.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer.close(Duration.ofSeconds(5));
        }
    }
}

package io.alimi.ops;

import io.alimi.Main;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.RedisProcess;
import io.alimi.support.TcpProxy;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.timeline.Durability;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Redis master killed outright ({@code kill -9}) while events arrive through Kafka and HTTP, its replica promoted
 * in its place. With {@code alimi.redis.min-replicas=1} no event that was acknowledged (a 202, a committed Kafka
 * offset) is lost, and none is stored twice; without it, what the replica had not received when the master died
 * is lost although acknowledged: the test measures that window.
 *
 * <p>To make the window certain rather than a race, the replication link stalls a moment before the kill, as a
 * link to a replica that falls behind would; the events sent meanwhile are the ones at stake.
 */
class DurableAppendIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    final Closer closer = new Closer();

    /** What one drill counted. */
    private record Outcome(Set<String> acknowledgedHttp, Set<String> sentKafka, Map<String, Integer> onTimeline,
                           long frozenAcknowledged) {
        List<String> lost() {
            List<String> lost = new ArrayList<>();
            for (String id : acknowledgedHttp) {
                if (!onTimeline.containsKey(id)) {
                    lost.add(id);
                }
            }
            for (String id : sentKafka) {
                if (!onTimeline.containsKey(id)) {
                    lost.add(id);
                }
            }
            return lost;
        }

        List<String> doubled() {
            return onTimeline.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        }
    }

    private Outcome drill(int minReplicas) throws Exception {
        RedisProcess master = closer.add(RedisProcess.startEphemeral());
        // The replica replicates through a link the test can stall: what is in flight when the master dies is lost.
        TcpProxy link = closer.add(new TcpProxy(master.port()));
        RedisProcess replica = closer.add(RedisProcess.start(io.alimi.support.TempDirs.create("alimi-replica-"),
                io.alimi.support.Ports.free(), List.of("--save", "", "--appendonly", "no", "--replicaof", "127.0.0.1",
                        Integer.toString(link.port()))));
        awaitReplicaUp(replica);
        TcpProxy proxy = closer.add(new TcpProxy(master.port()));
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("durable");
        kafka.createTopic(topic, 2);
        String prefix = TestServers.uniquePrefix();
        Map<String, String> settings = new HashMap<>(Map.of(
                "alimi.roles", "relay,bridge",
                "alimi.redis.url", proxy.url(),
                "alimi.redis.key-prefix", prefix,
                "alimi.redis.min-replicas", Integer.toString(minReplicas),
                "alimi.redis.replica-timeout", "300ms",
                "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic,
                "alimi.bridge.group", topic + "-group",
                "alimi.bridge.dead-letter-topic", topic + ".dlq"));
        Main.Running node = closer.add(TestNode.start(settings));
        Producer<byte[], byte[]> producer = closer.add(kafka.producer());

        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<String> sent = ConcurrentHashMap.newKeySet();
        // A producer over HTTP that retries each event, same id, until it is accepted.
        HttpProducer http = new HttpProducer(node.port(), acknowledged);
        Thread httpThread = Thread.ofVirtual().start(http);
        for (int i = 0; i < 100; i++) {
            send(producer, topic, "k-" + i, sent);
        }
        Await.until(WAIT, "a first hundred acknowledged both ways", () -> acknowledged.size() >= 100
                && node.bridge().orElseThrow().lagCount() == 0);

        link.pause(true);
        // A replica acknowledgement already read by the link when it stalled still gets through: count from the
        // first refusal on (with min-replicas), when the stall is certainly in force.
        int before;
        if (minReplicas == 0) {
            before = acknowledged.size();
        } else {
            Await.until(WAIT, "a publish refused for want of the replica", () -> http.refusals() >= 1);
            before = acknowledged.size();
        }
        for (int i = 100; i < 200; i++) {
            send(producer, topic, "k-" + i, sent);
        }
        if (minReplicas == 0) {
            Await.until(WAIT, "events acknowledged both ways while the replication link stalls", () ->
                    acknowledged.size() - before >= 20 && node.bridge().orElseThrow().lagCount() == 0);
        } else {
            Await.until(WAIT, "publishes refused and bridge batches failed while the replication link stalls", () ->
                    http.refusals() >= 3 && node.bridge().orElseThrow().retryCount() >= 1);
        }
        long frozenAcknowledged = acknowledged.size() - before;
        master.kill();
        link.close();
        assertEquals("+OK", replica.command("REPLICAOF", "NO", "ONE"));
        // The old master's host comes back as a replica of the new one (min-replicas needs one).
        RedisProcess second = closer.add(RedisProcess.startReplicaOf(replica));
        awaitReplicaUp(second);
        proxy.retarget(replica.port());

        for (int i = 200; i < 300; i++) {
            send(producer, topic, "k-" + i, sent);
        }
        http.stopAfter(acknowledged.size() + 100);
        httpThread.join(WAIT.toMillis());
        Await.until(WAIT, "the bridge caught up on the new master", () -> node.bridge().orElseThrow().lagCount() == 0
                && onTimeline(replica, prefix).keySet().containsAll(sentSince(sent, 200)));
        return new Outcome(Set.copyOf(acknowledged), Set.copyOf(sent), onTimeline(replica, prefix), frozenAcknowledged);
    }

    @Test
    void withMinReplicasAMasterKilledOutrightLosesNoAcknowledgedEventThroughKafkaOrHttp() throws Exception {
        Outcome outcome = drill(1);
        assertEquals(0, outcome.frozenAcknowledged(), "nothing is acknowledged while no replica holds it");
        assertEquals(List.of(), outcome.lost(), "acknowledged, then lost");
        assertEquals(List.of(), outcome.doubled(), "stored twice");
        assertTrue(outcome.acknowledgedHttp().size() >= 200, "the HTTP producer went on after the failover");
        assertEquals(300, outcome.sentKafka().size());
    }

    @Test
    void withoutMinReplicasWhatTheReplicaHadNotReceivedIsLostThoughAcknowledged() throws Exception {
        Outcome outcome = drill(0);
        List<String> lost = outcome.lost();
        System.out.printf("without min-replicas: %d events acknowledged over HTTP while the replica lagged; "
                        + "lost after the failover: %d (%d over HTTP, %d through Kafka)%n", outcome.frozenAcknowledged(),
                lost.size(), lost.stream().filter(id -> id.startsWith("h-")).count(),
                lost.stream().filter(id -> id.startsWith("k-")).count());
        assertTrue(outcome.frozenAcknowledged() > 0, "the master acknowledged while the replica lagged");
        assertTrue(lost.stream().anyMatch(id -> id.startsWith("h-")), "acknowledged HTTP events were lost: " + lost);
        assertTrue(lost.stream().anyMatch(id -> id.startsWith("k-")), "committed Kafka events were lost: " + lost);
        assertEquals(List.of(), outcome.doubled(), "stored twice");
    }

    /**
     * An append that timed out waiting for the replica is on the master all the same; a retry through another
     * connection (another node, the bridge instead of HTTP) finds it a duplicate and wrote nothing itself, yet must
     * not answer before the original is replicated.
     */
    @Test
    void aRetryThatFindsItsEventAlreadyOnTheMasterWaitsForThatEventsReplicationToo() throws Exception {
        RedisProcess master = closer.add(RedisProcess.startEphemeral());
        RedisProcess replica = closer.add(RedisProcess.startReplicaOf(master));
        awaitReplicaUp(replica);
        RedisConnector connector = closer.add(RedisConnector.create(master.url(), Duration.ofSeconds(5)));
        Keys keys = new Keys(TestServers.uniquePrefix());
        Durability durability = new Durability(1, Duration.ofMillis(200));
        RedisTimeline first = new RedisTimeline(closer.add(connector.connect(Duration.ofSeconds(5))), keys,
                Retention.DEFAULTS, new RedisTimeline.Meters(), durability);
        RedisTimeline second = new RedisTimeline(closer.add(connector.connect(Duration.ofSeconds(5))), keys,
                Retention.DEFAULTS, new RedisTimeline.Meters(), durability);
        assertEquals(1, first.append(List.of(Events.envelope("before", "mall:1"))).join().size(), "replicated, accepted");

        replica.freeze(true);
        try {
            CompletionException timedOut = assertThrows(CompletionException.class,
                    () -> first.append(List.of(Events.envelope("retried", "mall:1"))).join());
            assertTrue(timedOut.getCause() instanceof Durability.NotReplicatedException, String.valueOf(timedOut.getCause()));
            CompletionException retried = assertThrows(CompletionException.class,
                    () -> second.append(List.of(Events.envelope("retried", "mall:1"))).join(),
                    "a retry through another connection must not be accepted while the original is not replicated");
            assertTrue(retried.getCause() instanceof Durability.NotReplicatedException, String.valueOf(retried.getCause()));
        } finally {
            replica.freeze(false);
        }
        List<io.alimi.timeline.Appended> accepted = second.append(List.of(Events.envelope("retried", "mall:1"))).join();
        assertTrue(accepted.get(0).placements().get(0).duplicate(), "the retry, once replicated, is the same entry");
    }

    private static Set<String> sentSince(Set<String> sent, int from) {
        Set<String> since = new java.util.HashSet<>();
        for (int i = from; i < 300; i++) {
            if (sent.contains("k-" + i)) {
                since.add("k-" + i);
            }
        }
        return since;
    }

    private static void send(Producer<byte[], byte[]> producer, String topic, String id, Set<String> sent) throws Exception {
        producer.send(new ProducerRecord<>(topic, "mall:1".getBytes(StandardCharsets.UTF_8),
                Events.json(id, "mall:1").getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        sent.add(id);
    }

    private static void awaitReplicaUp(RedisProcess replica) {
        try (RedisClient client = RedisClient.create("redis://127.0.0.1:" + replica.port());
             StatefulRedisConnection<String, String> connection = client.connect()) {
            Await.until(WAIT, "the replica in sync", () -> connection.sync().info("replication").contains("master_link_status:up"));
        }
    }

    private static Map<String, Integer> onTimeline(RedisProcess server, String prefix) {
        try (RedisClient client = RedisClient.create("redis://127.0.0.1:" + server.port());
             StatefulRedisConnection<String, String> connection = client.connect()) {
            Map<String, Integer> counts = new HashMap<>();
            for (StreamMessage<String, String> entry : connection.sync().xrange(prefix + "tl:{mall:1}", Range.create("-", "+"))) {
                counts.merge(entry.getBody().get("id"), 1, Integer::sum);
            }
            return counts;
        }
    }

    /** Publishes h-0, h-1, … one at a time, each retried with the same id until a 202, until told to stop. */
    private static final class HttpProducer implements Runnable {
        private final Http http;
        private final Set<String> acknowledged;
        private volatile int stopAt = Integer.MAX_VALUE;
        private final java.util.concurrent.atomic.AtomicInteger refusals = new java.util.concurrent.atomic.AtomicInteger();

        int refusals() {
            return refusals.get();
        }

        HttpProducer(int port, Set<String> acknowledged) {
            this.http = new Http(port);
            this.acknowledged = acknowledged;
        }

        void stopAfter(int count) {
            stopAt = count;
        }

        @Override
        public void run() {
            for (int i = 0; acknowledged.size() < stopAt; i++) {
                String id = "h-" + i;
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (System.nanoTime() < deadline) {
                    Http.Reply reply;
                    try {
                        reply = http.post("/v1/events", "application/cloudevents+json", Events.json(id, "mall:1"),
                                "X-Api-Key", TestNode.API_KEY);
                    } catch (RuntimeException unreachable) {
                        continue;
                    }
                    if (reply.status() == 202) {
                        acknowledged.add(id);
                        break;
                    }
                    refusals.incrementAndGet();
                    if (reply.status() != 503) {
                        throw new AssertionError("publish " + id + ": " + reply.status() + " " + reply.body());
                    }
                    // As a producer honouring Retry-After would, only sooner: the drill is short.
                    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                }
            }
        }
    }
}

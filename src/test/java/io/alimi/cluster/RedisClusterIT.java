package io.alimi.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.event.Scope;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.Publisher;
import io.alimi.support.RedisCluster;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.timeline.Keys;
import io.lettuce.core.cluster.SlotHash;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nodes on a real three-master Redis Cluster. Admin 42's four scopes are in four shards, in four slots on two
 * masters, so one XREAD over them all would be refused (CROSSSLOT): the tailer must read each slot on its own,
 * from the master serving it, and follow a slot that moves.
 */
class RedisClusterIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static RedisCluster cluster;

    @RegisterExtension
    final Closer closer = new Closer();

    @BeforeAll
    static void startCluster() {
        cluster = RedisCluster.start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private Main.Running node(String prefix, String roles) {
        return closer.add(TestNode.start(Map.of(
                "alimi.redis.cluster", "true",
                "alimi.redis.url", cluster.urls(),
                "alimi.redis.key-prefix", prefix,
                "alimi.roles", roles)));
    }

    @Test
    void aBridgeAppendsKafkaEventsToTheClusterAndARelayOnAnotherProcessStreamsThem() {
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("cluster");
        kafka.createTopic(topic, 2);
        String prefix = TestServers.uniquePrefix();
        Main.Running relay = node(prefix, "relay");
        closer.add(TestNode.start(Map.of(
                "alimi.redis.cluster", "true",
                "alimi.redis.url", cluster.urls(),
                "alimi.redis.key-prefix", prefix,
                "alimi.roles", "bridge",
                "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic,
                "alimi.bridge.group", topic + "-group",
                "alimi.bridge.dead-letter-topic", topic + ".dlq")));
        SseClient client = closer.add(SseClient.connect(relay.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", client.next(WAIT).type());
        Set<String> sent = new HashSet<>();
        try (Producer<byte[], byte[]> producer = kafka.producer()) {
            String[] targets = {"all", "mall:1", "admin:42", "partner:7"};
            for (int i = 0; i < 40; i++) {
                String id = "k-" + i;
                sent.add(id);
                producer.send(new ProducerRecord<>(topic, targets[i % 4].getBytes(StandardCharsets.UTF_8),
                        Events.json(id, targets[i % 4]).getBytes(StandardCharsets.UTF_8)));
            }
            producer.flush();
        }
        assertEquals(sent, ids(client, sent.size()));
        assertTrue(client.drain().isEmpty(), "each once");
        Http.Reply ready = new Http(relay.port()).get("/health/ready");
        assertEquals(200, ready.status(), ready.body());
    }

    private static Set<String> ids(SseClient client, int n) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            SseClient.Event event = client.nextExcept(WAIT, "ready", "unread");
            assertTrue(ids.add(event.json().get("id").asText()), "delivered twice: " + event.json().get("id"));
        }
        return ids;
    }

    @Test
    void aStreamOverScopesOnEveryMasterGetsEachEventOnceAndResumesOnAnotherNode() {
        String prefix = TestServers.uniquePrefix();
        Main.Running first = node(prefix, "relay");
        Main.Running second = node(prefix, "relay");
        Keys keys = new Keys(prefix, Keys.DEFAULT_CLUSTER_SHARDS);
        List<Integer> slots = List.of("all", "mall:1", "admin:42", "partner:7").stream()
                .map(scope -> SlotHash.getSlot(keys.stream(Scope.parse(scope)))).toList();
        assertEquals(4, Set.copyOf(slots).size(), "four slots: " + slots);
        assertTrue(slots.stream().map(cluster::ownerOf).distinct().count() > 1, "on more than one master");
        Publisher publisher = new Publisher(first.port());
        SseClient client = closer.add(SseClient.connect(first.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", client.next(WAIT).type());

        publisher.publish("c-all", "all");
        publisher.publish("c-mall", "mall:1");
        publisher.publish("c-admin", "admin:42");
        publisher.publish("c-partner", "partner:7");
        publisher.publish("c-other", "mall:2");
        assertEquals(Set.of("c-all", "c-mall", "c-admin", "c-partner"), ids(client, 4));
        assertTrue(client.drain().isEmpty(), "nothing of mall:2");
        String cursor = client.lastEventId();
        client.close();

        publisher.publish("c-away-1", "admin:42");
        publisher.publish("c-away-2", "all");
        SseClient resumed = closer.add(SseClient.connect(second.port(), TestNode.ADMIN_42, "", cursor));
        assertTrue(resumed.next(WAIT).json().get("resumed").asBoolean());
        assertEquals(Set.of("c-away-1", "c-away-2"), ids(resumed, 2));
        publisher.publish("c-live", "partner:7");
        assertEquals(Set.of("c-live"), ids(resumed, 1));
    }

    @Test
    void theLiveStreamFollowsAScopeWhoseSlotMovesToAnotherMaster() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, "relay");
        Publisher publisher = new Publisher(node.port());
        SseClient client = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "scopes=mall:1", null));
        assertEquals("ready", client.next(WAIT).type());
        publisher.publish("m-before", "mall:1");
        assertEquals(Set.of("m-before"), ids(client, 1));

        int slot = SlotHash.getSlot(new Keys(prefix, Keys.DEFAULT_CLUSTER_SHARDS).stream(Scope.parse("mall:1")));
        int from = cluster.ownerOf(slot);
        // Events keep coming while the slot and its keys migrate: publishers retry a refused publish (TRYAGAIN
        // while the stream's keys are split between the two masters) with the same event id, as the bridge does.
        List<String> after = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            after.add("m-after-" + i);
        }
        publishDuring(publisher, after, () -> cluster.moveSlot(slot, (from + 1) % cluster.size()));
        assertEquals(Set.copyOf(after), ids(client, after.size()));
        assertTrue(client.drain().isEmpty(), "no duplicate after the move");
        cluster.moveSlot(slot, from);
        publisher.publish("m-back", "mall:1");
        assertEquals(Set.of("m-back"), ids(client, 1));
    }

    @Test
    void theLiveStreamCarriesOnWhenAReplicaTakesOverFromTheMasterOfItsSlotAndBack() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, "relay");
        Publisher publisher = new Publisher(node.port());
        SseClient client = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "scopes=mall:1", null));
        assertEquals("ready", client.next(WAIT).type());
        publisher.publish("f-before", "mall:1");
        assertEquals(Set.of("f-before"), ids(client, 1));

        int slot = SlotHash.getSlot(new Keys(prefix, Keys.DEFAULT_CLUSTER_SHARDS).stream(Scope.parse("mall:1")));
        int master = cluster.ownerOf(slot);
        int replica = cluster.addReplica(master);
        List<String> sent = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            int promoted = round == 0 ? replica : master;
            for (int i = 0; i < 20; i++) {
                sent.add("f-" + round + "-" + i);
            }
            List<String> batch = sent.subList(sent.size() - 20, sent.size());
            // Published while the master hands over: refused for a moment (the old master stops taking writes,
            // then redirects), retried with the same ids.
            publishDuring(publisher, batch, () -> cluster.failover(promoted, slot));
            assertEquals(promoted, cluster.ownerOf(slot));
            assertEquals(Set.copyOf(batch), ids(client, batch.size()));
        }
        publisher.publish("f-after", "mall:1");
        assertEquals(Set.of("f-after"), ids(client, 1));
        assertTrue(client.drain().isEmpty(), "nothing twice");
    }

    /** Publishes {@code ids} to mall:1, each retried until accepted, while {@code disruption} runs. */
    private static void publishDuring(Publisher publisher, List<String> ids, Runnable disruption) {
        Thread publishing = Thread.ofVirtual().start(() -> ids.forEach(id -> publishRetrying(publisher, id)));
        disruption.run();
        try {
            publishing.join(WAIT.toMillis());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void publishRetrying(Publisher publisher, String id) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                publisher.publish(id, "mall:1");
                return;
            } catch (AssertionError refused) {
                if (System.nanoTime() > deadline) {
                    throw refused;
                }
                Thread.onSpinWait();
            }
        }
    }

    @Test
    void timelinesReadStateAndTicketsWorkAcrossMastersAndNodes() {
        String prefix = TestServers.uniquePrefix();
        Main.Running first = node(prefix, "relay");
        Main.Running second = node(prefix, "relay");
        Publisher publisher = new Publisher(first.port());
        publisher.publish("t-1", "all");
        publisher.publish("t-2", "mall:1");
        publisher.publish("t-3", "admin:42");
        JsonNode duplicate = publisher.publish("t-3", "admin:42");
        assertTrue(duplicate.get("duplicate").asBoolean(), duplicate.toString());

        Http http = new Http(second.port());
        String auth = "Bearer " + TestNode.ADMIN_42;
        Http.Reply timeline = http.get("/v1/timeline?limit=10", "Authorization", auth);
        assertEquals(200, timeline.status(), timeline.body());
        List<String> newestFirst = new ArrayList<>();
        timeline.json().get("items").forEach(item -> newestFirst.add(item.get("event").get("id").asText()));
        assertEquals(List.of("t-3", "t-2", "t-1"), newestFirst);

        SseClient watching = closer.add(SseClient.connect(first.port(), TestNode.ADMIN_42, "unread=true", null));
        assertEquals("ready", watching.next(WAIT).type());
        assertEquals(3, watching.next(WAIT).json().get("count").asInt());
        Http.Reply read = http.post("/v1/timeline/read", "application/json", "{\"upTo\":\"latest\"}", "Authorization", auth);
        assertEquals(200, read.status(), read.body());
        assertEquals(0, watching.nextExcept(WAIT).json().get("count").asInt(),
                "a read on the other node reaches this stream through cluster Pub/Sub");

        Http.Reply ticket = new Http(first.port()).post("/v1/tickets", null, "", "Authorization", auth);
        assertEquals(200, ticket.status(), ticket.body());
        SseClient ticketed = closer.add(SseClient.connect(second.port(),
                "/v1/stream?ticket=" + ticket.json().get("ticket").asText(), Map.of()));
        assertEquals("ready", ticketed.next(WAIT).type());
    }
}

package io.alimi.ops;

import io.alimi.Main;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;
import io.alimi.support.SseClient;
import io.alimi.support.TempDirs;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Redis Sentinel, the usual high-availability set-up of a single Redis: a master, a replica and three Sentinels
 * started here, Alimi given only the Sentinels ({@code redis-sentinel://…#alimi}). The master is killed outright;
 * the Sentinels promote the replica; the bridge, the publish path and the tailer follow, and a browser that stayed
 * connected throughout receives every event once.
 */
class SentinelIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void theBridgePublishersAndTheLiveStreamFollowAFailoverSentinelDecided() throws Exception {
        RedisProcess master = closer.add(RedisProcess.startEphemeral());
        RedisProcess replica = closer.add(RedisProcess.startReplicaOf(master));
        awaitInfo(replica.port(), "replication", "master_link_status:up");
        List<Integer> sentinels = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path dir = TempDirs.create("alimi-sentinel-");
            Path conf = dir.resolve("sentinel.conf");
            Files.writeString(conf, """
                    sentinel monitor alimi 127.0.0.1 %d 2
                    sentinel down-after-milliseconds alimi 1000
                    sentinel failover-timeout alimi 10000
                    sentinel parallel-syncs alimi 1
                    """.formatted(master.port()));
            RedisProcess sentinel = closer.add(RedisProcess.start(dir, Ports.free(), List.of(conf.toString(), "--sentinel")));
            sentinels.add(sentinel.port());
        }
        for (int port : sentinels) {
            awaitInfo(port, "sentinel", "sentinels=3");
            awaitInfo(port, "sentinel", "slaves=1");
        }

        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("sentinel");
        kafka.createTopic(topic, 2);
        String url = "redis-sentinel://" + String.join(",", sentinels.stream().map(port -> "127.0.0.1:" + port).toList()) + "#alimi";
        Main.Running node = closer.add(TestNode.start(Map.of(
                "alimi.roles", "relay,bridge",
                "alimi.redis.url", url,
                "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic,
                "alimi.bridge.group", topic + "-group",
                "alimi.bridge.dead-letter-topic", topic + ".dlq")));
        SseClient browser = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "scopes=mall:1", null));
        assertEquals("ready", browser.next(WAIT).type());
        Producer<byte[], byte[]> producer = closer.add(kafka.producer());
        Http http = new Http(node.port());

        Set<String> published = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            send(producer, topic, "k-" + i);
            publish(http, "h-" + i);
            published.add("k-" + i);
            published.add("h-" + i);
        }
        List<String> received = new ArrayList<>(browser.ids(100, WAIT));
        // Everything so far is on the replica before the master dies (this test is about following, not loss:
        // DurableAppendIT is about loss).
        assertEquals(":1", master.command("WAIT", "1", "5000"));

        master.kill();
        Await.until(WAIT, "the Sentinels to promote the replica", () -> masterPort(sentinels.getFirst()) == replica.port());
        for (int i = 50; i < 100; i++) {
            send(producer, topic, "k-" + i);
            publish(http, "h-" + i);
            published.add("k-" + i);
            published.add("h-" + i);
        }
        received.addAll(browser.ids(100, WAIT));

        assertEquals(200, received.size());
        assertEquals(published, new HashSet<>(received), "every event, before and after the failover, arrived");
        assertEquals(200, new HashSet<>(received).size(), "none twice");
        Await.until(WAIT, "the bridge caught up on the new master", () -> node.bridge().orElseThrow().lagCount() == 0);
        Await.until(WAIT, "the node ready again", () -> http.get("/health/ready").status() == 200);
    }

    private static void send(Producer<byte[], byte[]> producer, String topic, String id) throws Exception {
        producer.send(new ProducerRecord<>(topic, "mall:1".getBytes(StandardCharsets.UTF_8),
                Events.json(id, "mall:1").getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
    }

    /** As a producer would: the same event again until it is accepted (503 while Redis fails over). */
    private static void publish(Http http, String id) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Http.Reply reply = http.post("/v1/events", "application/cloudevents+json", Events.json(id, "mall:1"),
                    "X-Api-Key", TestNode.API_KEY);
            if (reply.status() == 202) {
                return;
            }
            assertEquals(503, reply.status(), reply.body());
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
        throw new AssertionError("publish " + id + " not accepted within " + WAIT);
    }

    private static int masterPort(int sentinel) {
        try (RedisClient client = RedisClient.create("redis://127.0.0.1:" + sentinel);
             StatefulRedisConnection<String, String> connection = client.connect()) {
            List<Object> address = connection.sync().dispatch(io.lettuce.core.protocol.CommandType.SENTINEL,
                    new io.lettuce.core.output.ArrayOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
                    new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8)
                            .add("get-master-addr-by-name").add("alimi"));
            return Integer.parseInt(String.valueOf(address.get(1)));
        }
    }

    private static void awaitInfo(int port, String section, String wanted) {
        try (RedisClient client = RedisClient.create("redis://127.0.0.1:" + port);
             StatefulRedisConnection<String, String> connection = client.connect()) {
            Await.until(WAIT, port + " INFO " + section + " saying " + wanted, () -> connection.sync().info(section).contains(wanted));
        }
    }
}

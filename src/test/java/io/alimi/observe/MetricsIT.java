package io.alimi.observe;

import io.alimi.Main;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code /metrics} on a whole node: what it counts moves with what the node does. */
class MetricsIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closer closer = new Closer();

    private static double value(String metrics, String series) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        throw new AssertionError("no " + series + " in:\n" + metrics);
    }

    @Test
    void connectionsAppendsDeliveriesAndBridgeLagAreExposed() {
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("metrics");
        kafka.createTopic(topic, 1);
        Main.Running node = closer.add(TestNode.start(Map.of("alimi.roles", "relay,bridge",
                "alimi.kafka.bootstrap", kafka.bootstrap(), "alimi.bridge.topic", topic, "alimi.bridge.group", topic + "-g",
                "alimi.bridge.dead-letter-topic", topic + ".dlq",
                // A closed SSE client is noticed at the next writes: heartbeats every 200 ms make that quick.
                "alimi.relay.heartbeat", "200ms")));
        Http http = new Http(node.port());
        SseClient sse = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", sse.next(WAIT).type());
        new Publisher(node.port()).publish("m-1", "mall:1,admin:42");
        new Publisher(node.port()).publish("m-1", "mall:1,admin:42");
        sse.nextExcept(WAIT);

        String metrics = http.get("/metrics").body();
        assertEquals(1, value(metrics, "alimi_connections{transport=\"sse\"}"));
        assertEquals(0, value(metrics, "alimi_connections{transport=\"ws\"}"));
        assertEquals(2, value(metrics, "alimi_events_appended_total"));
        assertEquals(2, value(metrics, "alimi_events_duplicate_total"));
        assertTrue(value(metrics, "alimi_redis_append_seconds_count") >= 2);
        assertEquals(1, value(metrics, "alimi_delivery_latency_seconds_count"), "one event handed out, once");
        assertEquals(1, value(metrics, "alimi_delivery_latency_seconds_bucket{le=\"+Inf\"}"));
        Await.until(WAIT, "the bridge to know its lag", () -> value(http.get("/metrics").body(), "alimi_bridge_lag") == 0);
        assertTrue(metrics.contains("# TYPE alimi_delivery_latency_seconds histogram"), metrics);

        sse.close();
        Await.until(WAIT, "the closed connection to leave the gauge", () ->
                value(http.get("/metrics").body(), "alimi_connections{transport=\"sse\"}") == 0);
    }
}

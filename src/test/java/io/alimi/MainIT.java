package io.alimi;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.config.SettingsException;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A whole node, both roles, wired by {@link Main#start} exactly as in production. */
class MainIT {

    @Test
    void anEventPublishedToKafkaIsReadableByAnEntitledAdminAndTheNodeReportsReady() {
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("main");
        kafka.createTopic(topic, 2);
        try (Main.Running node = TestNode.start(Map.of("alimi.roles", "relay,bridge", "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic, "alimi.bridge.group", topic + "-group", "alimi.bridge.dead-letter-topic", topic + ".dlq"));
             Producer<byte[], byte[]> producer = kafka.producer()) {
            Http http = new Http(node.port());
            producer.send(new ProducerRecord<>(topic, "1".getBytes(StandardCharsets.UTF_8),
                    Events.json("via-kafka-1", "mall:1", "{\"orderNo\":\"A-1\"}").getBytes(StandardCharsets.UTF_8)));
            producer.flush();

            JsonNode page = Await.value(Duration.ofSeconds(30), "the event is on mall:1's timeline",
                    () -> http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer " + TestNode.ADMIN_42).json(),
                    body -> body.get("events").size() == 1);
            assertEquals("via-kafka-1", page.get("events").get(0).get("event").get("id").asText());

            Http.Reply ready = http.get("/health/ready");
            assertEquals(200, ready.status(), ready.body());
            assertEquals("UP", ready.json().get("checks").get("bridge").get("status").asText());
            assertTrue(node.bridge().isPresent());
        }
    }

    @Test
    void aBridgeOnlyNodeServesHealthButNotTheApi() {
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("bridge-only");
        try (Main.Running node = TestNode.start(Map.of("alimi.roles", "bridge", "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic, "alimi.bridge.group", topic + "-group"))) {
            Http http = new Http(node.port());
            assertEquals(200, http.get("/health/live").status());
            assertEquals(404, http.post("/v1/events", "application/cloudevents+json", Events.json("x", "all")).status());
        }
    }

    @Test
    void badSettingsStopStartUpNamingTheSetting() {
        SettingsException roles = assertThrows(SettingsException.class, () -> TestNode.start(Map.of("alimi.roles", "relay,pusher")));
        assertEquals("alimi.roles: unknown role 'pusher'; use relay, bridge, push or a comma-separated mix (environment variable ALIMI_ROLES)", roles.getMessage());
        SettingsException keys = assertThrows(SettingsException.class, () -> TestNode.start(Map.of("alimi.publish.api-keys", "ops=short")));
        assertTrue(keys.getMessage().startsWith("alimi.publish.api-keys: the key named 'ops' is shorter than 16 characters"), keys.getMessage());
        SettingsException url = assertThrows(SettingsException.class, () -> TestNode.start(Map.of("alimi.redis.url", "http://:hunter2@redis")));
        assertTrue(url.getMessage().startsWith("alimi.redis.url: not a Redis URL: http://***@redis"), url.getMessage());
    }
}

package io.alimi.security;

import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.WsClient;
import io.alimi.transport.WsEndpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Limits on connections and connects, and what producers' API keys may publish, against a real node. */
class LimitsIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node(Map<String, String> overrides) {
        return closer.add(TestNode.start(overrides));
    }

    private static String metric(Main.Running node, String limit) {
        String text = new Http(node.port()).get("/metrics").body();
        for (String line : text.split("\n")) {
            if (line.startsWith("alimi_limit_refusals_total{limit=\"" + limit + "\"}")) {
                return line.substring(line.lastIndexOf(' ') + 1);
            }
        }
        throw new AssertionError("no metric for " + limit + " in:\n" + text);
    }

    @Test
    void aBurstOfConnectsFromOneAddressIsAnswered429WithRetryAfter() {
        Main.Running node = node(Map.of("alimi.limits.connects-per-second-per-ip", "1",
                "alimi.limits.connect-burst-per-ip", "3"));
        Http http = new Http(node.port());
        for (int i = 0; i < 3; i++) {
            assertEquals(200, http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_42).status());
        }
        Http.Reply refused = http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(429, refused.status(), refused.body());
        assertEquals("1", refused.header("Retry-After"));
        assertTrue(refused.json().get("detail").asText().contains("too many connects"), refused.body());
        WsClient ws = closer.add(WsClient.as(node.port(), TestNode.ADMIN_42, ""));
        assertEquals(WsEndpoint.TRY_AGAIN_LATER, ws.closeCode(WAIT));
        assertEquals("2", metric(node, "connects-per-second-per-ip"));
        Await.until(WAIT, "the bucket to refill", () ->
                http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_42).status() == 200);
    }

    @Test
    void anAdminOverItsConnectionLimitIsAnswered429AndAFreedSlotIsReused() {
        // A closed SSE client is noticed at the next writes: heartbeats every 200 ms make that quick.
        Main.Running node = node(Map.of("alimi.limits.connections-per-admin", "2", "alimi.relay.heartbeat", "200ms"));
        SseClient first = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", first.next(WAIT).type());
        WsClient second = closer.add(WsClient.as(node.port(), TestNode.ADMIN_42, ""));
        assertEquals("ready", second.next(WAIT).get("op").asText());
        SseClient third = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals(429, third.status());
        assertTrue(third.statusBody().contains("already has 2 live connections"), third.statusBody());
        SseClient otherAdmin = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_77, "", null));
        assertEquals("ready", otherAdmin.next(WAIT).type(), "the limit is per admin");
        assertEquals("1", metric(node, "connections-per-admin"));
        first.close();
        Await.until(WAIT, "the closed connection's slot to be free", () -> {
            SseClient again = SseClient.connect(node.port(), TestNode.ADMIN_42, "", null);
            try {
                return again.status() == 200;
            } finally {
                again.close();
            }
        });
    }

    @Test
    void aTicketRedeemedForAStreamAConnectionLimitRefusesIsSaidToBeSpent() {
        // Connection limits need the admin, so they come after the ticket is redeemed: the client must get a new one.
        Main.Running node = node(Map.of("alimi.limits.connections-per-admin", "1"));
        SseClient first = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", first.next(WAIT).type());
        Http http = new Http(node.port());
        String ticket = http.post("/v1/tickets", null, "", "Authorization", "Bearer " + TestNode.ADMIN_42)
                .json().get("ticket").asText();
        SseClient refused = closer.add(SseClient.connect(node.port(), "/v1/stream?ticket=" + ticket, Map.of()));
        assertEquals(429, refused.status());
        assertTrue(refused.statusBody().contains("the ticket is spent"), refused.statusBody());
        SseClient again = closer.add(SseClient.connect(node.port(), "/v1/stream?ticket=" + ticket, Map.of()));
        assertEquals(401, again.status(), "it was spent indeed");
    }

    @Test
    void aNodeAtItsConnectionLimitAnswers503SoTheClientTriesAnother() {
        Main.Running node = node(Map.of("alimi.limits.max-connections", "1"));
        SseClient first = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", first.next(WAIT).type());
        Http.Reply refused = new Http(node.port()).get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_77);
        assertEquals(503, refused.status());
        assertEquals("1", refused.header("Retry-After"));
        assertEquals("1", metric(node, "max-connections"));
    }

    private static String sha256(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Http.Reply publish(Http http, String key, String event) {
        return http.post("/v1/events", "application/cloudevents+json", event, "X-Api-Key", key);
    }

    @Test
    void aScopedApiKeyPublishesOnlyItsSourcesTypesAndTargetKindsAndRotatesWithoutRestart() throws IOException {
        Path file = Files.createTempFile("alimi-keys-", ".json");
        file.toFile().deleteOnExit();
        String ordersKey = "orders-key-2026-11-aaaa";
        Files.writeString(file, """
                {"keys": [{"name": "orders-2026-11", "sha256": "%s", "sources": ["/orders"], "types": ["order."],
                           "targets": ["mall", "admin"]}]}
                """.formatted(sha256(ordersKey)));
        Main.Running node = node(Map.of("alimi.publish.api-keys-file", file.toString(),
                "alimi.publish.api-keys-reload", "100ms"));
        Http http = new Http(node.port());
        assertEquals(202, publish(http, ordersKey, Events.json("k-1", "mall:1")).status());
        Http.Reply wrongTarget = publish(http, ordersKey, Events.json("k-2", "mall:1,all"));
        assertEquals(403, wrongTarget.status());
        assertTrue(wrongTarget.json().get("detail").asText().contains("target all"), wrongTarget.body());
        Http.Reply batch = http.post("/v1/events", "application/cloudevents-batch+json",
                "[" + Events.json("k-3", "mall:1") + "," + Events.json("k-4", "partner:7") + "]", "X-Api-Key", ordersKey);
        assertEquals(403, batch.status());
        assertEquals(1, batch.json().get("errors").get(0).get("index").asInt());
        Http.Reply page = http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertTrue(page.body().contains("k-1") && !page.body().contains("k-2") && !page.body().contains("k-3"),
                "a refused batch stores nothing: " + page.body());

        String nextKey = "orders-key-2026-12-bbbb";
        Path next = Files.createTempFile("alimi-keys-", ".json");
        Files.writeString(next, """
                {"keys": [{"name": "orders-2026-12", "sha256": "%s", "sources": ["/orders"]}]}
                """.formatted(sha256(nextKey)));
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Await.until(WAIT, "the new key to be in force", () -> publish(http, nextKey, Events.json("k-5", "mall:1")).status() == 202);
        assertEquals(401, publish(http, ordersKey, Events.json("k-6", "mall:1")).status(), "the old key is out");
        assertEquals(202, publish(http, TestNode.API_KEY, Events.json("k-7", "all")).status(), "configured keys stay");
    }
}

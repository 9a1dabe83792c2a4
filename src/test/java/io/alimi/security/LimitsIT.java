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

    @Test
    void aPartnersKeyPublishesToItsScopesOnlyAndABatchWithOneEventOutsideStoresNothing() throws IOException {
        Path file = Files.createTempFile("alimi-keys-", ".json");
        file.toFile().deleteOnExit();
        String partnerKey = "partner-7-key-2026-12-cccc";
        Files.writeString(file, """
                {"keys": [{"name": "partner-7", "sha256": "%s", "targets": ["partner:7", "mall:1"]}]}
                """.formatted(sha256(partnerKey)));
        Main.Running node = node(Map.of("alimi.publish.api-keys-file", file.toString()));
        Http http = new Http(node.port());
        assertEquals(202, publish(http, partnerKey, Events.json("p-1", "partner:7,mall:1")).status());
        Http.Reply otherMall = publish(http, partnerKey, Events.json("p-2", "mall:2"));
        assertEquals(403, otherMall.status(), otherMall.body());
        assertTrue(otherMall.json().get("detail").asText().contains("target mall:2"), otherMall.body());
        Http.Reply batch = http.post("/v1/events", "application/cloudevents-batch+json",
                "[" + Events.json("p-3", "mall:1") + "," + Events.json("p-4", "mall:1,mall:3") + ","
                        + Events.json("p-5", "partner:7") + "]", "X-Api-Key", partnerKey);
        assertEquals(403, batch.status(), batch.body());
        assertEquals(1, batch.json().get("errors").size(), batch.body());
        assertEquals(1, batch.json().get("errors").get(0).get("index").asInt(), "the event outside is named");
        assertTrue(batch.json().get("errors").get(0).toString().contains("mall:3"), batch.body());
        Http.Reply page = http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertTrue(page.body().contains("p-1") && !page.body().contains("p-3") && !page.body().contains("p-4"),
                "a refused batch stores nothing: " + page.body());
    }

    private static Http.Reply pollFrom(Http http, String address, String token) {
        return http.get("/v1/poll?wait=0", "Authorization", "Bearer " + token, "X-Forwarded-For", address);
    }

    @Test
    void garbageTokensDoNotStarveAdmissions() {
        // A budget of 5 new streams: before credentials came first, 60 garbage requests spent it all.
        Main.Running node = node(Map.of("alimi.limits.admissions-per-second", "1", "alimi.limits.admission-burst", "5",
                "alimi.http.trusted-proxies", "127.0.0.0/8"));
        Http http = new Http(node.port());
        List<Integer> garbage = new ArrayList<>();
        for (String attacker : List.of("198.51.100.1", "198.51.100.2", "198.51.100.3")) {
            for (int i = 0; i < 20 + 10; i++) {
                garbage.add(pollFrom(http, attacker, "garbage-token-" + attacker + "-" + i).status());
            }
        }
        assertEquals(60, garbage.stream().filter(status -> status == 401).count(), "20 bad credentials per address "
                + "are checked and refused: " + garbage);
        assertEquals(30, garbage.stream().filter(status -> status == 429).count(), "then the address is refused "
                + "before its credentials are looked at: " + garbage);
        Http.Reply flooded = pollFrom(http, "198.51.100.1", TestNode.ADMIN_42);
        assertEquals(429, flooded.status(), "a flooding address waits, whatever it sends");
        assertTrue(flooded.json().get("detail").asText().contains("failed-auth-per-ip"), flooded.body());
        assertTrue(Integer.parseInt(flooded.header("Retry-After")) >= 1);
        for (int i = 0; i < 5; i++) {
            assertEquals(200, pollFrom(http, "203.0.113.9", TestNode.ADMIN_42).status(),
                    "a real admin is admitted at the node's rate: " + i);
        }
        assertEquals(503, pollFrom(http, "203.0.113.9", TestNode.ADMIN_42).status(), "and the rate still holds");
        assertEquals("1", metric(node, "admissions-per-second"));
        assertEquals("31", metric(node, "failed-auth-per-ip"));
    }

    @Test
    void ipv6SlashSixtyFourSharesOneBucket() {
        Main.Running node = node(Map.of("alimi.limits.connects-per-second-per-ip", "1",
                "alimi.limits.connect-burst-per-ip", "2", "alimi.http.trusted-proxies", "127.0.0.0/8"));
        Http http = new Http(node.port());
        assertEquals(200, pollFrom(http, "2001:db8:1:2::1", TestNode.ADMIN_42).status());
        assertEquals(200, pollFrom(http, "2001:db8:1:2:ffff:ffff:ffff:fffe", TestNode.ADMIN_42).status());
        Http.Reply sameNetwork = pollFrom(http, "2001:db8:1:2:abcd::9", TestNode.ADMIN_42);
        assertEquals(429, sameNetwork.status(), "a third address of the same /64 shares its bucket: " + sameNetwork.body());
        assertEquals(200, pollFrom(http, "2001:db8:1:3::1", TestNode.ADMIN_42).status(), "the next /64 has its own");
        assertEquals(200, pollFrom(http, "198.51.100.7", TestNode.ADMIN_42).status(), "IPv4 addresses are their own");

        Main.Running wider = node(Map.of("alimi.limits.connects-per-second-per-ip", "1",
                "alimi.limits.connect-burst-per-ip", "1", "alimi.http.trusted-proxies", "127.0.0.0/8",
                "alimi.limits.ipv6-prefix", "48"));
        Http other = new Http(wider.port());
        assertEquals(200, pollFrom(other, "2001:db8:1:2::1", TestNode.ADMIN_42).status());
        assertEquals(429, pollFrom(other, "2001:db8:1:ffff::1", TestNode.ADMIN_42).status(), "a /48 when configured");
    }

    @Test
    void websocketResumeIsRateLimited() {
        Main.Running node = node(Map.of("alimi.limits.resumes-per-admin", "1/min", "alimi.limits.resumes-per-admin-burst", "2"));
        WsClient ws = closer.add(WsClient.as(node.port(), TestNode.ADMIN_42, "scopes=mall:1"));
        com.fasterxml.jackson.databind.JsonNode ready = ws.next(WAIT);
        assertEquals("ready", ready.get("op").asText());
        String cursor = ready.get("cursor").asText();
        for (int i = 0; i < 2; i++) {
            ws.send("{\"op\":\"resume\",\"cursor\":\"" + cursor + "\"}");
            assertEquals("ready", ws.next(WAIT).get("op").asText(), "resume " + i + " is within the burst");
        }
        ws.send("{\"op\":\"resume\",\"cursor\":\"" + cursor + "\"}");
        assertEquals(WsEndpoint.TRY_AGAIN_LATER, ws.closeCode(WAIT));
        assertTrue(ws.closeReason().startsWith("retry after ") && ws.closeReason().contains("resumes"), ws.closeReason());
        assertEquals("1", metric(node, "resumes-per-admin"));
    }

    @Test
    void timelineReadsReadMarksDeviceWritesAndTicketsHaveARatePerAdmin() {
        Main.Running node = node(Map.of(
                "alimi.limits.reads-per-admin", "1/min", "alimi.limits.reads-per-admin-burst", "3",
                "alimi.limits.read-marks-per-admin", "1/min", "alimi.limits.read-marks-per-admin-burst", "2",
                "alimi.limits.device-writes-per-admin", "1/h", "alimi.limits.device-writes-per-admin-burst", "1",
                "alimi.limits.tickets-per-admin", "1/min", "alimi.limits.tickets-per-admin-burst", "2"));
        Http http = new Http(node.port());
        String[] admin42 = {"Authorization", "Bearer " + TestNode.ADMIN_42};
        String[] admin77 = {"Authorization", "Bearer " + TestNode.ADMIN_77};
        assertEquals(200, http.get("/v1/timeline", admin42).status());
        assertEquals(200, http.get("/v1/timeline/unread-count", admin42).status());
        assertEquals(200, http.get("/v1/scopes/mall:1/events", admin42).status());
        Http.Reply reads = http.get("/v1/timeline", admin42);
        assertEquals(429, reads.status(), reads.body());
        assertTrue(Integer.parseInt(reads.header("Retry-After")) >= 1, "Retry-After: " + reads.header("Retry-After"));
        assertTrue(reads.json().get("detail").asText().contains("reads-per-admin: 1/min, burst 3"), reads.body());
        assertEquals(200, http.get("/v1/timeline", admin77).status(), "another admin has a bucket of their own");

        for (int i = 0; i < 2; i++) {
            assertEquals(200, http.post("/v1/timeline/read", "application/json", "{\"upTo\":\"latest\"}", admin42).status());
        }
        assertEquals(429, http.post("/v1/timeline/read", "application/json", "{\"upTo\":\"latest\"}", admin42).status());

        String device = "{\"token\":\"device-token-for-limits-0001\",\"platform\":\"android\"}";
        int registered = http.post("/v1/devices", "application/json", device, admin42).status();
        assertTrue(registered == 200 || registered == 201 || registered == 202, "registered: " + registered);
        assertEquals(429, http.post("/v1/devices", "application/json", device, admin42).status());

        for (int i = 0; i < 2; i++) {
            assertEquals(200, http.post("/v1/tickets", null, "", admin42).status());
        }
        Http.Reply ticket = http.post("/v1/tickets", null, "", admin42);
        assertEquals(429, ticket.status(), ticket.body());
        assertTrue(ticket.json().get("detail").asText().contains("tickets-per-admin"), ticket.body());

        assertEquals("1", metric(node, "reads-per-admin"));
        assertEquals("1", metric(node, "read-marks-per-admin"));
        assertEquals("1", metric(node, "device-writes-per-admin"));
        assertEquals("1", metric(node, "tickets-per-admin"));
    }
}

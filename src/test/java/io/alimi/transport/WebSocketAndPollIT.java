package io.alimi.transport;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.event.Cursor;
import io.alimi.event.Scope;
import io.alimi.support.Closer;
import io.alimi.support.Await;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.Cursors;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.support.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WebSocketAndPollIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node(Map<String, String> overrides) {
        return closer.add(TestNode.start(overrides));
    }

    private WsClient ws(Main.Running node, String token, String query) {
        return closer.add(WsClient.as(node.port(), token, query));
    }

    // WebSocket

    @Test
    void aWebSocketGetsReadyThenEventFramesWithCursors() {
        Main.Running node = node(Map.of());
        Publisher publisher = new Publisher(node.port());
        WsClient client = ws(node, TestNode.ADMIN_42, "");
        JsonNode ready = client.next(WAIT);
        assertEquals("ready", ready.get("op").asText());
        assertTrue(ready.get("cursor").asText().length() > 4);

        publisher.publish("w-1", "mall:1");
        JsonNode frame = client.nextEvent(WAIT);
        assertEquals("w-1", frame.get("event").get("id").asText());
        assertTrue(frame.get("cursor").isTextual());
    }

    @Test
    void aResumeMessageRestartsDeliveryFromThatCursor() {
        Main.Running node = node(Map.of());
        Publisher publisher = new Publisher(node.port());
        WsClient client = ws(node, TestNode.ADMIN_42, "scopes=mall:1");
        String start = client.next(WAIT).get("cursor").asText();
        publisher.publish("x-1", "mall:1");
        publisher.publish("x-2", "mall:1");
        assertEquals("x-1", client.nextEvent(WAIT).get("event").get("id").asText());
        assertEquals("x-2", client.nextEvent(WAIT).get("event").get("id").asText());

        client.send("{\"op\":\"resume\",\"cursor\":\"" + start + "\"}");
        assertEquals("ready", client.next(WAIT).get("op").asText());
        assertEquals("x-1", client.nextEvent(WAIT).get("event").get("id").asText());
        assertEquals("x-2", client.nextEvent(WAIT).get("event").get("id").asText());
    }

    @Test
    void aPingIsAnsweredAndIdleConnectionsArePinged() {
        Main.Running node = node(Map.of("alimi.relay.heartbeat", "200ms"));
        WsClient client = ws(node, TestNode.ADMIN_42, "");
        client.next(WAIT);
        client.send("{\"op\":\"ping\"}");
        assertEquals("pong", client.next(WAIT).get("op").asText());
        Await.until(WAIT, "server pings", () -> client.pings() >= 2);
    }

    @Test
    void refusalsAreCloseCodesWithAReason() {
        Main.Running node = node(Map.of());
        WsClient noToken = closer.add(WsClient.connect(node.port(), "/v1/ws"));
        assertEquals(WsEndpoint.UNAUTHORIZED, noToken.closeCode(WAIT));
        assertTrue(noToken.closeReason().contains("missing credentials"), noToken.closeReason());

        WsClient wide = ws(node, TestNode.ADMIN_42, "scopes=mall:9");
        assertEquals(WsEndpoint.FORBIDDEN, wide.closeCode(WAIT));

        WsClient badCursor = ws(node, TestNode.ADMIN_42, "cursor=garbage!");
        assertEquals(WsEndpoint.BAD_REQUEST, badCursor.closeCode(WAIT));

        WsClient badMessage = ws(node, TestNode.ADMIN_42, "");
        badMessage.next(WAIT);
        badMessage.send("{\"op\":\"subscribe\",\"scopes\":\"mall:9\"}");
        assertEquals(WsEndpoint.BAD_REQUEST, badMessage.closeCode(WAIT));

        WsClient badResume = ws(node, TestNode.ADMIN_42, "");
        badResume.next(WAIT);
        badResume.send("{\"op\":\"resume\",\"cursor\":\"" + Cursors.at(List.of(Scope.mall("1")), Cursor.MAX_MILLIS + 1) + "\"}");
        assertEquals(WsEndpoint.BAD_REQUEST, badResume.closeCode(WAIT));
        assertTrue(badResume.closeReason().contains("out-of-range"), badResume.closeReason());
    }

    @Test
    void aResumeTheServerCannotServeClosesTheSocketWithACodeBeforeItsSlotIsFreed() throws Exception {
        try (io.alimi.support.RedisProcess own = io.alimi.support.RedisProcess.startEphemeral()) {
            Main.Running node = node(Map.of("alimi.redis.url", own.url(), "alimi.redis.command-timeout", "1s",
                    "alimi.limits.connections-per-admin", "1"));
            WsClient first = ws(node, TestNode.ADMIN_42, "");
            String cursor = first.next(WAIT).get("cursor").asText();
            own.stop();
            first.send("{\"op\":\"resume\",\"cursor\":\"" + cursor + "\"}");
            assertEquals(WsEndpoint.UNAVAILABLE, first.closeCode(WAIT), "closed, not left hanging");
            own.start();
            // The one slot this admin has is free again: the socket was closed before it was released.
            Await.until(WAIT, "a new stream is admitted", () -> {
                WsClient next = ws(node, TestNode.ADMIN_42, "cursor=" + cursor);
                try {
                    return next.next(Duration.ofSeconds(2)).path("op").asText().equals("ready");
                } catch (AssertionError refused) {
                    return false;
                } finally {
                    next.close();
                }
            });
        }
    }

    @Test
    void drainingClosesWith1012AfterANoticeCarryingTheCursor() {
        Main.Running leaving = TestNode.start(Map.of());
        WsClient client = ws(leaving, TestNode.ADMIN_42, "");
        client.next(WAIT);
        Thread closing = Thread.ofVirtual().start(leaving::close);
        JsonNode notice = client.next(WAIT);
        assertEquals("reconnect", notice.get("op").asText());
        assertEquals("draining", notice.get("reason").asText());
        assertEquals(WsEndpoint.DRAINING, client.closeCode(WAIT));
        Await.until(WAIT, "the node is closed", () -> !closing.isAlive());
    }

    @Test
    void whenRedisIsGoneNewStreamsAreRefusedAsUnavailableAndTheNodeIsNotReady() throws Exception {
        try (io.alimi.support.RedisProcess own = io.alimi.support.RedisProcess.startEphemeral()) {
            Main.Running node = node(Map.of("alimi.redis.url", own.url(), "alimi.redis.command-timeout", "1s"));
            Http http = new Http(node.port());
            own.stop();
            Http.Reply poll = http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_42);
            assertEquals(503, poll.status(), poll.body());
            assertEquals("1", poll.header("retry-after"));
            Http.Reply stream = http.get("/v1/stream", "Authorization", "Bearer " + TestNode.ADMIN_42);
            assertEquals(503, stream.status(), stream.body());
            WsClient ws = ws(node, TestNode.ADMIN_42, "");
            assertEquals(WsEndpoint.UNAVAILABLE, ws.closeCode(WAIT));
            Http.Reply ready = http.get("/health/ready");
            assertEquals(503, ready.status(), ready.body());
            assertEquals("DOWN", ready.json().get("checks").get("redis").get("status").asText());
        }
    }

    // Long-poll

    private static JsonNode poll(Main.Running node, String query) {
        Http.Reply reply = new Http(node.port()).get("/v1/poll?" + query, "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(200, reply.status(), reply.body());
        return reply.json();
    }

    @Test
    void aPollWithoutCursorWaitsForTheNextEventAndReturnsACursor() {
        Main.Running node = node(Map.of());
        Publisher publisher = new Publisher(node.port());
        Thread later = Thread.ofVirtual().start(() -> {
            Await.until(WAIT, "the poll is waiting", () -> node.relay().orElseThrow().stats().sessions() == 1);
            publisher.publish("p-1", "mall:1");
        });
        JsonNode first = poll(node, "wait=10");
        assertEquals("p-1", first.get("events").get(0).get("id").asText());
        assertTrue(first.get("cursor").asText().length() > 4);
        Await.until(WAIT, "the publisher is done", () -> !later.isAlive());

        publisher.publish("p-2", "all");
        publisher.publish("p-3", "admin:42");
        JsonNode second = poll(node, "wait=10&cursor=" + first.get("cursor").asText());
        assertEquals(2, second.get("events").size());
        assertEquals("p-2", second.get("events").get(0).get("id").asText());
        assertEquals("p-3", second.get("events").get(1).get("id").asText());
    }

    @Test
    void aPollWithNothingNewAnswersEmptyWhenTheWaitIsOver() {
        Main.Running node = node(Map.of());
        JsonNode empty = poll(node, "wait=0");
        assertEquals(0, empty.get("events").size());
        JsonNode again = poll(node, "wait=1&cursor=" + empty.get("cursor").asText());
        assertEquals(0, again.get("events").size());
        assertEquals(0, again.get("gaps").size());
    }

    @Test
    void pollRefusesBadParametersByName() {
        Main.Running node = node(Map.of());
        Http http = new Http(node.port());
        Http.Reply badWait = http.get("/v1/poll?wait=61", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(400, badWait.status());
        assertTrue(badWait.body().contains("wait: must be a whole number of seconds from 0 to 60"), badWait.body());
        assertEquals(401, http.get("/v1/poll?wait=0").status());
        assertEquals(400, http.get("/v1/poll?cursor=%21%21", "Authorization", "Bearer " + TestNode.ADMIN_42).status());
    }

    @Test
    void pollReportsGaps() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(Map.of("alimi.timeline.max-length", "2", "alimi.redis.key-prefix", prefix));
        Publisher publisher = new Publisher(node.port());
        JsonNode start = poll(node, "wait=0&scopes=mall:1");
        for (int i = 0; i < 6; i++) {
            publisher.publish("t-" + i, "mall:1");
        }
        JsonNode after = poll(node, "wait=0&scopes=mall:1&cursor=" + start.get("cursor").asText());
        assertEquals("trimmed", after.get("gaps").get(0).get("reason").asText());
        assertEquals(2, after.get("events").size());
        assertEquals("t-5", after.get("events").get(1).get("id").asText());
    }
}

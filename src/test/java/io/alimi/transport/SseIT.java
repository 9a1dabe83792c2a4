package io.alimi.transport;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.event.Cursor;
import io.alimi.event.Scope;
import io.alimi.support.Closer;
import io.alimi.support.Await;
import io.alimi.support.Cursors;
import io.alimi.support.Events;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SseIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node(Map<String, String> overrides) {
        return closer.add(TestNode.start(overrides));
    }

    private Main.Running node() {
        return node(Map.of());
    }

    private SseClient client(Main.Running node, String token, String query, String lastEventId) {
        return closer.add(SseClient.connect(node.port(), token, query, lastEventId));
    }

    /** The cursor a client following {@code query} gets now, before anything published next; the client goes. */
    private String cursorNow(Main.Running node, String query) {
        SseClient first = client(node, TestNode.ADMIN_42, query, null);
        first.next(WAIT);
        String cursor = first.lastEventId();
        first.close();
        return cursor;
    }

    private static List<String> ids(List<SseClient.Event> events) {
        return events.stream().map(e -> e.json().get("id").asText()).toList();
    }

    private static List<SseClient.Event> take(SseClient client, int n) {
        List<SseClient.Event> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.add(client.nextExcept(WAIT, "ready"));
        }
        return events;
    }

    @Test
    void anAdminReceivesTheEventsOfItsScopesAndNoOthers() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient client = client(node, TestNode.ADMIN_42, "", null);
        SseClient.Event ready = client.next(WAIT);
        assertEquals("ready", ready.type());
        assertEquals("[\"all\",\"mall:1\",\"admin:42\",\"partner:7\"]", ready.json().get("scopes").toString());
        assertNotNull(client.retry(), "retry: is sent");

        publisher.publish("for-mall-1", "mall:1");
        publisher.publish("for-mall-2", "mall:2");
        publisher.publish("for-admin-42", "admin:42");
        publisher.publish("for-admin-77", "admin:77");
        publisher.publish("for-all", "all");
        publisher.publish("for-partner-7", "partner:7");

        List<SseClient.Event> events = take(client, 4);
        // Across scopes, events come in entry id order, which is the publish order to the millisecond: two publishes
        // to different scopes in the same millisecond may come either way.
        assertEquals(Set.of("for-mall-1", "for-admin-42", "for-all", "for-partner-7"), Set.copyOf(ids(events)));
        SseClient.Event forMall = events.stream().filter(e -> e.json().get("id").asText().equals("for-mall-1")).findFirst().orElseThrow();
        assertEquals("order.created", forMall.type());
        assertEquals(Events.envelope("for-mall-1", "mall:1").jsonText(), forMall.data());
        assertTrue(client.drain().isEmpty(), "nothing for mall:2 or admin:77");
    }

    @Test
    void aClientResumesFromItsLastEventIdWithNoGapAndNoDuplicate() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "", null);
        first.next(WAIT);
        publisher.publish("r-1", "mall:1");
        publisher.publish("r-2", "admin:42");
        take(first, 2);
        String cursor = first.lastEventId();
        first.close();

        publisher.publish("r-3", "mall:1");
        publisher.publish("r-4", "all");
        publisher.publish("r-5", "partner:7");

        SseClient second = client(node, TestNode.ADMIN_42, "", cursor);
        SseClient.Event ready = second.next(WAIT);
        assertTrue(ready.json().get("resumed").asBoolean());
        assertEquals(Set.of("r-3", "r-4", "r-5"), Set.copyOf(ids(take(second, 3))), "three scopes: any order within a millisecond");
        publisher.publish("r-6", "mall:1");
        assertEquals(List.of("r-6"), ids(take(second, 1)));
    }

    @Test
    void aFreshClientAlsoResumesIfItNeverGotAnEvent() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "", null);
        first.next(WAIT);
        String cursor = first.lastEventId();
        assertNotNull(cursor, "the ready message carries a cursor");
        first.close();
        publisher.publish("while-away", "mall:1");

        SseClient second = client(node, TestNode.ADMIN_42, "", cursor);
        assertEquals(List.of("while-away"), ids(take(second, 1)));
    }

    @Test
    void anEventForTwoFollowedScopesIsDeliveredOnceAndItsCopyOnlyMovesTheCursor() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient client = client(node, TestNode.ADMIN_42, "", null);
        client.next(WAIT);
        publisher.publish("both", "mall:1,admin:42");
        publisher.publish("after", "mall:1");
        assertEquals(List.of("both", "after"), ids(take(client, 2)));

        // Resuming from the cursor after "both" but before its second copy was passed must not repeat it.
        SseClient again = client(node, TestNode.ADMIN_42, "", client.lastEventId());
        again.next(WAIT);
        publisher.publish("later", "all");
        assertEquals(List.of("later"), ids(take(again, 1)));
    }

    /**
     * A batch to a mall and a partner is appended to one scope, then the other (one Lua call each), so the tailer
     * reads every copy in the first scope before any in the second — as after any backlog (a Redis outage, a
     * lagging bridge). More first copies are then waiting for their second than a cursor can name.
     */
    @Test
    void manyEventsForTwoFollowedScopesReadOneScopeAfterTheOtherAreEachDeliveredOnce() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient client = client(node, TestNode.ADMIN_42, "", null);
        client.next(WAIT);
        List<String> batch = qnaBatch("live-", 100);
        publisher.publishAll(batch.stream().map(id -> Events.json(id, "mall:1,partner:7")).toList());
        publisher.publish("last", "admin:42");

        List<String> got = new ArrayList<>();
        while (got.isEmpty() || !got.getLast().equals("last")) {
            got.add(client.nextExcept(WAIT, "ready").json().get("id").asText());
        }
        assertEquals(got.size(), new java.util.HashSet<>(got).size(), "no event twice: " + got);
        assertEquals(new java.util.HashSet<>(batch), new java.util.HashSet<>(got.subList(0, got.size() - 1)));
    }

    /** The same, with the client gone after the first copies: it resumes without getting any event twice. */
    @Test
    void aClientResumingWithMoreCopiesToPassThanItsCursorNamesGetsNoEventTwice() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "scopes=mall:1,partner:7", null);
        first.next(WAIT);
        List<String> batch = qnaBatch("resume-", 100);
        publisher.publishAll(batch.stream().map(id -> Events.json(id, "mall:1,partner:7")).toList());
        List<SseClient.Event> firstCopies = take(first, batch.size());
        assertEquals(new java.util.HashSet<>(batch), new java.util.HashSet<>(ids(firstCopies)));
        first.close();

        // The cursor after the last event: 100 copies in the other scope still to pass.
        SseClient second = client(node, TestNode.ADMIN_42, "scopes=mall:1,partner:7", firstCopies.getLast().id());
        assertTrue(second.next(WAIT).json().get("resumed").asBoolean());
        publisher.publish("after", "mall:1");
        assertEquals(List.of("after"), ids(take(second, 1)));
    }

    private static List<String> qnaBatch(String prefix, int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(prefix + i);
        }
        return ids;
    }

    @Test
    void scopesMayBeNarrowedButNeverWidened() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient narrow = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        assertEquals("[\"mall:1\"]", narrow.next(WAIT).json().get("scopes").toString());
        publisher.publish("to-admin", "admin:42");
        publisher.publish("to-mall", "mall:1");
        assertEquals(List.of("to-mall"), ids(take(narrow, 1)));

        SseClient wide = client(node, TestNode.ADMIN_42, "scopes=mall:1,mall:2", null);
        assertEquals(403, wide.status());
        assertTrue(wide.statusBody().contains("scope mall:2 is not one of this admin's scopes"), wide.statusBody());
    }

    @Test
    void refusalsNameWhatIsWrong() {
        Main.Running node = node();
        SseClient noToken = closer.add(SseClient.connect(node.port(), "/v1/stream", Map.of()));
        assertEquals(401, noToken.status());
        assertTrue(noToken.statusBody().contains("missing credentials"), noToken.statusBody());

        SseClient badToken = client(node, "not-a-token-at-all-0000", "", null);
        assertEquals(401, badToken.status());

        SseClient badCursor = client(node, TestNode.ADMIN_42, "", "AAAA-garbage");
        assertEquals(400, badCursor.status());
        assertTrue(badCursor.statusBody().contains("cursor:"), badCursor.statusBody());

        SseClient outOfRange = client(node, TestNode.ADMIN_42, "", Cursors.at(List.of(Scope.mall("1")), Cursor.MAX_MILLIS + 1));
        assertEquals(400, outOfRange.status());
        assertTrue(outOfRange.statusBody().contains("cursor: holds an out-of-range number"), outOfRange.statusBody());

        SseClient badScope = client(node, TestNode.ADMIN_42, "scopes=shop:1", null);
        assertEquals(400, badScope.status());
    }

    @Test
    void aTokenInTheQueryIsAcceptedOnlyWhenExplicitlyAllowed() {
        Main.Running node = node(Map.of("alimi.auth.allow-token-in-query", "true"));
        SseClient client = closer.add(SseClient.connect(node.port(), "/v1/stream?access_token=" + TestNode.ADMIN_42, Map.of()));
        assertEquals("ready", client.next(WAIT).type());
    }

    @Test
    void aCursorBehindRetentionGetsAGapThenWhatIsLeftThenLive() {
        Main.Running node = node(Map.of("alimi.timeline.max-length", "5"));
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        first.next(WAIT);
        publisher.publish("g-0", "mall:1");
        take(first, 1);
        String cursor = first.lastEventId();
        first.close();
        List<String> published = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            published.add(publisher.publish("g-" + i, "mall:1").get("entries").get(0).get("entry").asText());
        }

        SseClient second = client(node, TestNode.ADMIN_42, "scopes=mall:1", cursor);
        second.next(WAIT);
        SseClient.Event gap = assertTrimmedGap(second.next(WAIT), "mall:1");
        assertEquals(published.get(14), gap.json().get("through").asText(), "the newest entry trimmed");
        assertEquals(List.of("g-16", "g-17", "g-18", "g-19", "g-20"), ids(take(second, 5)));
        publisher.publish("g-21", "mall:1");
        assertEquals(List.of("g-21"), ids(take(second, 1)));
    }

    private static SseClient.Event assertTrimmedGap(SseClient.Event gap, String scope) {
        assertEquals("gap", gap.type(), gap.data());
        assertEquals(scope, gap.json().get("scope").asText(), gap.data());
        assertEquals("trimmed", gap.json().get("reason").asText(), gap.data());
        return gap;
    }

    /**
     * One append call adds a whole batch and trims the stream to its last few before the tailer reads any of it:
     * the live client must be told what it will not get, not skip it.
     */
    @Test
    void aLiveClientOutrunByRetentionGetsATrimmedGapNotASilentSkip() {
        Main.Running node = node(Map.of("alimi.timeline.max-length", "5"));
        Publisher publisher = new Publisher(node.port());
        SseClient live = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        live.next(WAIT);
        publisher.publish("t-0", "mall:1");
        assertEquals(List.of("t-0"), ids(take(live, 1)));
        List<String> batch = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            batch.add(Events.json("t-" + i, "mall:1"));
        }
        publisher.publishAll(batch);

        SseClient.Event gap = assertTrimmedGap(live.nextExcept(WAIT), "mall:1");
        List<String> got = ids(take(live, 5));
        assertEquals(List.of("t-36", "t-37", "t-38", "t-39", "t-40"), got);
        // The gap ends right before the first event that came: nothing in between is unaccounted for.
        String through = gap.json().get("through").asText();
        String kept = new io.alimi.support.Http(node.port()).get("/v1/scopes/mall:1/events?limit=1", "Authorization",
                "Bearer " + TestNode.ADMIN_42).json().get("first").asText();
        assertTrue(io.alimi.timeline.StreamId.parse(through).compareTo(io.alimi.timeline.StreamId.parse(kept)) < 0,
                through + " before the oldest kept, " + kept);
    }

    @Test
    void aCursorIntoALostStreamGetsAResetGapThenTheNewStream() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(Map.of("alimi.redis.key-prefix", prefix));
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        first.next(WAIT);
        publisher.publish("old-1", "mall:1");
        take(first, 1);
        String cursor = first.lastEventId();
        first.close();

        TestServers.redis().command("DEL", prefix + "tl:{mall:1}", prefix + "tl:{mall:1}:meta");
        publisher.publish("new-1", "mall:1");
        publisher.publish("new-2", "mall:1");

        SseClient second = client(node, TestNode.ADMIN_42, "scopes=mall:1", cursor);
        second.next(WAIT);
        SseClient.Event gap = second.next(WAIT);
        assertEquals("gap", gap.type(), gap.data());
        assertEquals("reset", gap.json().get("reason").asText());
        assertTrue(gap.json().get("through").isNull());
        assertEquals(List.of("new-1", "new-2"), ids(take(second, 2)));
    }

    @Test
    void aClientTooFarBehindGetsABehindGapAndTheNewestEntries() {
        Main.Running node = node(Map.of("alimi.relay.max-catch-up", "3"));
        Publisher publisher = new Publisher(node.port());
        String cursor = cursorNow(node, "scopes=mall:1");
        for (int i = 1; i <= 10; i++) {
            publisher.publish("b-" + i, "mall:1");
        }

        SseClient second = client(node, TestNode.ADMIN_42, "scopes=mall:1", cursor);
        second.next(WAIT);
        SseClient.Event gap = second.next(WAIT);
        assertEquals("behind", gap.json().get("reason").asText(), gap.data());
        assertEquals(List.of("b-8", "b-9", "b-10"), ids(take(second, 3)));
    }

    @Test
    void aLongReplayIsReadAndWrittenInPiecesEachEventOnceInOrderOnEveryTransport() {
        Main.Running node = node(Map.of("alimi.relay.replay-piece", "16"));
        Publisher publisher = new Publisher(node.port());
        String cursor = cursorNow(node, "scopes=mall:1,partner:7");
        List<String> sent = new ArrayList<>();
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String id = "piece-" + i;
            // Events in one scope, the other, and both (one copy each: handed out once, whichever piece has which).
            batch.add(io.alimi.support.Events.json(id, switch (i % 3) {
                case 0 -> "mall:1";
                case 1 -> "partner:7";
                default -> "mall:1,partner:7";
            }));
            sent.add(id);
        }
        publisher.publishAll(batch);

        SseClient sse = client(node, TestNode.ADMIN_42, "scopes=mall:1,partner:7", cursor);
        assertEquals("ready", sse.next(WAIT).type());
        List<String> overSse = ids(take(sse, 300));
        // Across scopes in entry-id order (each stream numbers its own entries), each scope's in publish order.
        assertEquals(new java.util.TreeSet<>(sent), new java.util.TreeSet<>(overSse), "every event");
        assertEquals(300, new java.util.HashSet<>(overSse).size(), "each once");
        for (int kind = 0; kind < 2; kind++) {
            int only = kind;
            List<Integer> order = overSse.stream().map(id -> Integer.parseInt(id.substring("piece-".length())))
                    .filter(i -> i % 3 == only).toList();
            assertEquals(order.stream().sorted().toList(), order, "one scope's events in the order published");
        }
        String last = sse.lastEventId();
        sse.close();

        io.alimi.support.WsClient ws = closer.add(io.alimi.support.WsClient.as(node.port(), TestNode.ADMIN_42,
                "scopes=mall:1,partner:7&cursor=" + cursor));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
        List<String> overWs = new ArrayList<>();
        while (overWs.size() < 300) {
            JsonNode frame = ws.nextEvent(WAIT);
            overWs.add(frame.get("event").get("id").asText());
        }
        assertEquals(overSse, overWs, "over WebSocket, the same");

        io.alimi.support.Http.Reply poll = new io.alimi.support.Http(node.port()).get(
                "/v1/poll?wait=0&scopes=mall:1,partner:7&cursor=" + cursor, "Authorization", "Bearer " + TestNode.ADMIN_42);
        List<String> polled = new ArrayList<>();
        poll.json().get("events").forEach(event -> polled.add(event.get("id").asText()));
        assertEquals(overSse, polled, "one poll answers with the whole replay, the same");

        SseClient after = client(node, TestNode.ADMIN_42, "scopes=mall:1,partner:7", last);
        publisher.publish("after-replay", "mall:1");
        assertEquals("ready", after.next(WAIT).type());
        assertEquals(List.of("after-replay"), ids(take(after, 1)), "the cursor after the replay resumes after it");
    }

    @Test
    void aClientThatLeavesMidReplayResumesWithWhatItHadNotReceived() {
        // Pieces of two entries: the client leaves after each piece, and after the first event of one, and resumes
        // from the last id it got. Nothing may be skipped (a cursor vouching for a piece not yet read) or repeated.
        Main.Running node = node(Map.of("alimi.relay.replay-piece", "2"));
        Publisher publisher = new Publisher(node.port());
        String cursor = cursorNow(node, "scopes=mall:1,partner:7");
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            String id = "leave-" + i;
            publisher.publish(id, i % 2 == 0 ? "mall:1" : "partner:7");
            sent.add(id);
        }
        List<String> received = new ArrayList<>();
        int[] reads = {2, 1, 2, 3, 1};
        for (int read : reads) {
            SseClient resumed = client(node, TestNode.ADMIN_42, "scopes=mall:1,partner:7", cursor);
            assertEquals("ready", resumed.next(WAIT).type());
            List<SseClient.Event> taken = take(resumed, read);
            received.addAll(ids(taken));
            // The id of the last event taken, as a page that stops there would store it (the client may have read
            // further into its buffer).
            cursor = taken.get(taken.size() - 1).id();
            resumed.close();
        }
        // Each once; across the two scopes in entry-id order (two events of one millisecond go by scope), each
        // scope's in the order published.
        assertEquals(new java.util.TreeSet<>(sent), new java.util.TreeSet<>(received));
        assertEquals(sent.size(), received.size(), "each once: " + received);
        for (int scope = 0; scope < 2; scope++) {
            int parity = scope;
            List<String> mine = received.stream().filter(id -> Integer.parseInt(id.substring("leave-".length())) % 2 == parity).toList();
            assertEquals(mine.stream().sorted().toList(), mine, "one scope's in the order published");
        }
    }

    @Test
    void aResumeBehindLargeEventsReplaysWithinItsByteBudgetAndSaysTheRestIsBehind() {
        Main.Running node = node(Map.of("alimi.relay.max-catch-up-bytes", "10KiB"));
        Publisher publisher = new Publisher(node.port());
        String cursor = cursorNow(node, "scopes=mall:1");
        String large = "\"" + "x".repeat(3_000) + "\"";
        for (int i = 1; i <= 10; i++) {
            publisher.publishJson(io.alimi.support.Events.json("big-" + i, "mall:1", "{\"blob\":" + large + "}"));
        }

        SseClient second = client(node, TestNode.ADMIN_42, "scopes=mall:1", cursor);
        second.next(WAIT);
        SseClient.Event gap = second.next(WAIT);
        assertEquals("behind", gap.json().get("reason").asText(), gap.data());
        assertEquals(List.of("big-8", "big-9", "big-10"), ids(take(second, 3)), "about 3 KB each: 3 fit in 10 KiB");
    }

    @Test
    void nothingInAnEventCanAddAnSseFieldOrEvent() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        SseClient client = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        client.next(WAIT);
        String hostile = "{\"specversion\":\"1.0\",\"id\":\"evil\\u2028id\",\"source\":\"/s\",\"type\":\"order.created\","
                + "\"targets\":\"mall:1\",\"subject\":\"a\\r\\n\\r\\nevent: reconnect\\ndata: {}\\n\\nid: x\","
                + "\"x-ext\":\"\\u2028\\u2029\\r\\n\",\"data\":{\"note\":\"line\\nbreak\\r\\n\\n: comment\\ndata: forged\"}}";
        assertEquals(400, new io.alimi.support.Http(node.port()).post("/v1/events", "application/cloudevents+json", hostile,
                "X-Api-Key", TestNode.API_KEY).status(), "an id with U+2028 is refused outright");
        String stillHostile = hostile.replace("evil\\u2028id", "evil-1");
        publisher.publishJson(stillHostile);
        publisher.publish("after-evil", "mall:1");

        SseClient.Event event = client.next(WAIT);
        assertEquals("order.created", event.type());
        JsonNode json = event.json();
        assertEquals("evil-1", json.get("id").asText());
        assertEquals("a\r\n\r\nevent: reconnect\ndata: {}\n\nid: x", json.get("subject").asText());
        assertEquals("line\nbreak\r\n\n: comment\ndata: forged", json.get("data").get("note").asText());
        assertEquals("\u2028\u2029\r\n", json.get("x-ext").asText());
        assertEquals("after-evil", client.next(WAIT).json().get("id").asText(), "no forged event came in between");
        assertTrue(client.comments().isEmpty(), "no forged comment");
    }

    @Test
    void anIdleStreamGetsHeartbeats() {
        Main.Running node = node(Map.of("alimi.relay.heartbeat", "200ms"));
        SseClient client = client(node, TestNode.ADMIN_42, "", null);
        client.next(WAIT);
        Await.until(WAIT, "two heartbeats", () -> client.comments().size() >= 2);
    }

    @Test
    void aStreamEndsAtItsLifetimeTellingTheClientToReconnect() {
        Main.Running node = node(Map.of("alimi.relay.max-lifetime", "1s"));
        SseClient client = client(node, TestNode.ADMIN_42, "", null);
        client.next(WAIT);
        SseClient.Event end = client.next(Duration.ofSeconds(5));
        assertEquals("reconnect", end.type());
        assertEquals("lifetime", end.json().get("reason").asText());
        assertEquals(client.lastEventId(), end.json().get("cursor").asText());
        Await.until(WAIT, "the stream ends", client::ended);
    }

    @Test
    void aClientThatStopsReadingIsCutOffWhileOthersKeepUp() throws Exception {
        Main.Running node = node(Map.of("alimi.relay.queue-capacity", "128", "alimi.relay.tail-count", "32",
                "alimi.relay.heartbeat", "10m"));
        Publisher publisher = new Publisher(node.port());
        SseClient healthy = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        healthy.next(WAIT);
        try (Socket stuck = new Socket()) {
            stuck.setReceiveBufferSize(1024);
            stuck.connect(new java.net.InetSocketAddress("127.0.0.1", node.port()));
            stuck.getOutputStream().write(("GET /v1/stream?scopes=mall:1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + TestNode.ADMIN_42 + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            Await.until(WAIT, "both sessions are open", () -> node.relay().orElseThrow().stats().sessions() == 2);
            String pad = "x".repeat(8_000);
            List<String> batch = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                batch.add(Events.json("slow-" + i, "mall:1", "{\"pad\":\"" + pad + "\"}"));
                if (batch.size() == 20) {
                    publisher.publishAll(batch);
                    batch.clear();
                }
            }
            Await.until(WAIT, "the stuck client is cut off", () -> node.relay().orElseThrow().stats().slowConsumers() >= 1);
            Await.value(WAIT, "its session is gone", () -> node.relay().orElseThrow().stats(), stats -> stats.sessions() == 1);
            for (int i = 0; i < 400; i++) {
                assertEquals("slow-" + i, healthy.next(WAIT).json().get("id").asText());
            }
            InputStream in = stuck.getInputStream();
            stuck.setSoTimeout(10_000);
            byte[] all = in.readAllBytes();
            assertTrue(all.length > 0, "it got what fitted before it was cut off");
        }
    }

    @Test
    void aNewScopeIsServedAtOnceNotAfterTheTailersBlockTimeout() {
        Main.Running node = node(Map.of("alimi.relay.tail-block", "20s"));
        Publisher publisher = new Publisher(node.port());
        SseClient first = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
        first.next(WAIT);
        publisher.publish("warm", "mall:1");
        take(first, 1);
        // The tailer now blocks on mall:1 alone for up to 20 s.
        SseClient second = client(node, TestNode.ADMIN_77, "scopes=admin:77", null);
        second.next(WAIT);
        long start = System.nanoTime();
        publisher.publish("new-key", "admin:77");
        assertEquals("new-key", second.next(Duration.ofSeconds(3)).json().get("id").asText());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(3).toNanos());
    }

    @Test
    void drainingTellsEveryClientToReconnectWithItsCursorAndAnotherNodeLosesNothing() {
        Map<String, String> shared = new HashMap<>(Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix()));
        Main.Running leaving = TestNode.start(shared);
        Main.Running staying = node(shared);
        Publisher publisher = new Publisher(staying.port());
        List<SseClient> clients = List.of(client(leaving, TestNode.ADMIN_42, "", null),
                client(leaving, TestNode.ADMIN_42, "scopes=mall:1", null),
                client(leaving, TestNode.ADMIN_77, "", null));
        clients.forEach(c -> c.next(WAIT));
        publisher.publish("d-1", "all,mall:1");
        clients.forEach(c -> assertEquals("d-1", c.nextExcept(WAIT, "ready").json().get("id").asText()));

        Thread closing = Thread.ofVirtual().start(leaving::close);
        List<String> cursors = new ArrayList<>();
        for (SseClient c : clients) {
            SseClient.Event bye = c.nextExcept(WAIT);
            assertEquals("reconnect", bye.type());
            assertEquals("draining", bye.json().get("reason").asText());
            cursors.add(bye.json().get("cursor").asText());
            assertTrue(c.retry() <= 3_100, "draining clients come back within the jitter window: " + c.retry());
        }
        publisher.publish("d-2", "all");
        publisher.publish("d-3", "mall:1");
        Await.until(WAIT, "the node is closed", () -> !closing.isAlive());

        SseClient a = client(staying, TestNode.ADMIN_42, "", cursors.get(0));
        SseClient b = client(staying, TestNode.ADMIN_42, "scopes=mall:1", cursors.get(1));
        SseClient c = client(staying, TestNode.ADMIN_77, "", cursors.get(2));
        assertEquals(List.of("d-2", "d-3"), ids(take(a, 2)));
        assertEquals(List.of("d-3"), ids(take(b, 1)));
        assertEquals(List.of("d-2"), ids(take(c, 1)));
    }

    @Test
    void liveClientsKeepReceivingAfterRedisRestartsAndTheRelayReportsTheOutage() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("alimi-redis-restart-");
        try (io.alimi.support.RedisProcess own = io.alimi.support.RedisProcess.start(dir, io.alimi.support.Ports.free(),
                List.of("--appendonly", "yes", "--appendfsync", "always", "--save", ""))) {
            Main.Running node = node(Map.of("alimi.redis.url", own.url(), "alimi.redis.command-timeout", "1s"));
            Publisher publisher = new Publisher(node.port());
            SseClient client = client(node, TestNode.ADMIN_42, "scopes=mall:1", null);
            client.next(WAIT);
            publisher.publish("before", "mall:1");
            assertEquals(List.of("before"), ids(take(client, 1)));

            own.stop();
            io.alimi.support.Http http = new io.alimi.support.Http(node.port());
            Await.until(WAIT, "the relay reports its tailer down", () ->
                    http.get("/health/ready").json().get("checks").get("relay").get("status").asText().equals("DOWN"));
            own.start();
            Await.until(Duration.ofSeconds(20), "the node is ready again", () -> http.get("/health/ready").status() == 200);

            publisher.publish("after", "mall:1");
            assertEquals(List.of("after"), ids(take(client, 1)));
        }
    }

    @Test
    void aClientMovesToAnotherNodeWithItsCursor() {
        Map<String, String> shared = Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix());
        Main.Running a = node(shared);
        Main.Running b = node(shared);
        Publisher publisher = new Publisher(a.port());
        SseClient onA = client(a, TestNode.ADMIN_42, "", null);
        onA.next(WAIT);
        publisher.publish("m-1", "mall:1");
        take(onA, 1);
        onA.close();
        new Publisher(b.port()).publish("m-2", "admin:42");
        SseClient onB = client(b, TestNode.ADMIN_42, "", onA.lastEventId());
        onB.next(WAIT);
        publisher.publish("m-3", "all");
        assertEquals(List.of("m-2", "m-3"), ids(take(onB, 2)));
        assertNull(onB.drain().stream().filter(e -> e.json().path("id").asText().equals("m-1")).findAny().orElse(null));
    }
}

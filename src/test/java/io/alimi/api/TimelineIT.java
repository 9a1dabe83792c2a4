package io.alimi.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.WsClient;
import io.alimi.support.TestNode;
import io.alimi.timeline.TimelinePosition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin's merged timeline and read state, against a real node and Redis. */
class TimelineIT {

    private static final java.time.Duration WAIT = java.time.Duration.ofSeconds(10);

    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node() {
        return closer.add(TestNode.start(Map.of()));
    }

    private static JsonNode get(Main.Running node, String token, String pathAndQuery) {
        Http.Reply reply = new Http(node.port()).get(pathAndQuery, "Authorization", "Bearer " + token);
        assertEquals(200, reply.status(), reply.body());
        return reply.json();
    }

    private static Http.Reply read(Main.Running node, String token, String body) {
        return new Http(node.port()).post("/v1/timeline/read", "application/json", body, "Authorization", "Bearer " + token);
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("items").forEach(item -> ids.add(item.get("event").get("id").asText()));
        return ids;
    }

    @Test
    void theTimelineMergesTheAdminsScopesNewestFirstWithEachEventOnce() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        publisher.publish("t-1", "mall:1");
        publisher.publish("t-2", "mall:2");               // not admin 42's
        publisher.publish("t-3", "admin:42");
        publisher.publish("t-4", "partner:7,mall:1,all");  // three copies admin 42 can see
        publisher.publish("t-5", "all");
        publisher.publish("t-6", "admin:77");             // someone else's

        JsonNode page = get(node, TestNode.ADMIN_42, "/v1/timeline");
        assertEquals(List.of("t-5", "t-4", "t-3", "t-1"), ids(page));
        assertEquals("partner:7", page.get("items").get(1).get("scope").asText(), "the narrowest copy stands for it");
        assertTrue(page.get("next").isNull());
        page.get("items").forEach(item -> assertFalse(item.get("read").asBoolean()));

        assertEquals(List.of("t-4", "t-1"), ids(get(node, TestNode.ADMIN_42, "/v1/timeline?scopes=mall:1")));
        assertEquals(List.of("t-5", "t-4", "t-2"), ids(get(node, TestNode.ADMIN_77, "/v1/timeline?scopes=all,mall:2")));
    }

    @Test
    void pagesFollowEachOtherExactlyWhileEventsKeepArriving() throws Exception {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String[] scopes = {"mall:1", "mall:2", "admin:42", "admin:77", "partner:7", "all"};
        Set<String> visible = new LinkedHashSet<>();
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            Set<String> targets = new LinkedHashSet<>();
            for (int t = 0, n = 1 + random.nextInt(3); t < n; t++) {
                targets.add(scopes[random.nextInt(scopes.length)]);
            }
            String id = "p-" + i;
            if (targets.stream().anyMatch(s -> Set.of("mall:1", "admin:42", "partner:7", "all").contains(s))) {
                visible.add(id);
            }
            batch.add(Events.json(id, String.join(",", targets)));
            if (batch.size() == 40) {
                publisher.publishAll(batch);
                batch.clear();
            }
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread more = Thread.ofVirtual().start(() -> {
            for (int i = 0; !stop.get() && i < 2_000; i++) {
                publisher.publish("late-" + i, scopes[i % scopes.length]);
            }
        });
        try {
            List<String> seen = new ArrayList<>();
            TimelinePosition last = null;
            String before = "";
            do {
                int limit = 1 + random.nextInt(30);
                JsonNode page = get(node, TestNode.ADMIN_42, "/v1/timeline?limit=" + limit
                        + (before.isEmpty() ? "" : "&before=" + before));
                assertTrue(page.get("items").size() <= limit);
                for (JsonNode item : page.get("items")) {
                    TimelinePosition position = TimelinePosition.parse(item.get("position").asText());
                    if (last != null) {
                        assertTrue(position.compareTo(last) < 0, "seed " + seed + ": newest first, strictly");
                    }
                    last = position;
                    seen.add(item.get("event").get("id").asText());
                }
                before = page.get("next").isNull() ? "" : page.get("next").asText();
            } while (!before.isEmpty());
            assertEquals(seen.size(), new HashSet<>(seen).size(), "seed " + seed + ": no item twice");
            List<String> early = seen.stream().filter(id -> id.startsWith("p-")).toList();
            assertEquals(visible, new LinkedHashSet<>(early.reversed()), "seed " + seed + ": every visible event, none skipped, in order");
        } finally {
            stop.set(true);
            more.join();
        }
    }

    @Test
    void aTypeFilterThatMatchesNothingExaminesABoundedNumberOfEntriesAndSaysHowToGoOn() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        for (int batch = 0; batch < 3; batch++) {
            List<String> events = new java.util.ArrayList<>();
            for (int i = 0; i < 900; i++) {
                events.add(Events.json("scan-" + batch + "-" + i, "mall:1"));
            }
            publisher.publishAll(events);
        }
        JsonNode first = get(node, TestNode.ADMIN_42, "/v1/timeline?type=no.such.type&scopes=mall:1");
        assertEquals(0, first.get("items").size());
        assertTrue(first.path("partial").asBoolean(), "stopped at the bound: " + first);
        assertTrue(first.get("next").isTextual(), "and says where to go on: " + first);
        JsonNode second = get(node, TestNode.ADMIN_42, "/v1/timeline?type=no.such.type&scopes=mall:1&before="
                + first.get("next").asText());
        assertEquals(0, second.get("items").size());
        assertTrue(second.get("next").isNull(), "the other 700 entries examined, the end: " + second);
        assertFalse(second.has("partial"));
        JsonNode unfiltered = get(node, TestNode.ADMIN_42, "/v1/timeline?scopes=mall:1&limit=100");
        assertEquals(100, unfiltered.get("items").size(), "a page that fills is never partial");
        assertFalse(unfiltered.has("partial"));
    }

    @Test
    void typeFilterKeepsMatchingEventsAndPagingStillEnds() {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        for (int i = 0; i < 30; i++) {
            publisher.publishJson(i % 3 == 0
                    ? "{\"specversion\":\"1.0\",\"id\":\"c-" + i + "\",\"source\":\"/claims\",\"type\":\"claim.requested\",\"targets\":\"mall:1\"}"
                    : Events.json("o-" + i, "mall:1"));
        }
        JsonNode claims = get(node, TestNode.ADMIN_42, "/v1/timeline?type=claim.&limit=100");
        assertEquals(10, claims.get("items").size());
        claims.get("items").forEach(item -> assertEquals("claim.requested", item.get("event").get("type").asText()));
    }

    @Test
    void unreadCountsFallAsTheAdminReadsAndAreSharedByEveryNode() {
        Main.Running node = node();
        Main.Running other = closer.add(TestNode.start(Map.of("alimi.redis.key-prefix",
                node.settings().string("alimi.redis.key-prefix", "alimi:"))));
        Publisher publisher = new Publisher(node.port());
        for (int i = 1; i <= 5; i++) {
            publisher.publish("u-" + i, i % 2 == 0 ? "admin:42" : "mall:1,all");
        }
        assertEquals(5, get(node, TestNode.ADMIN_42, "/v1/timeline/unread-count").get("count").asInt());

        Http.Reply one = read(node, TestNode.ADMIN_42, "{\"eventId\":\"u-5\"}");
        assertEquals(200, one.status(), one.body());
        assertEquals(4, one.json().get("count").asInt());
        JsonNode page = get(other, TestNode.ADMIN_42, "/v1/timeline");
        assertTrue(page.get("items").get(0).get("read").asBoolean(), "u-5 read, seen from the other node");
        assertFalse(page.get("items").get(1).get("read").asBoolean());

        String u3 = page.get("items").get(2).get("position").asText();
        assertEquals(1, read(other, TestNode.ADMIN_42, "{\"upTo\":\"" + u3 + "\"}").json().get("count").asInt(),
                "u-1..u-3 and u-5 read: u-4 is left");
        String u1 = page.get("items").get(4).get("position").asText();
        assertEquals(1, read(node, TestNode.ADMIN_42, "{\"upTo\":\"" + u1 + "\"}").json().get("count").asInt(),
                "a marker never moves back");
        assertEquals(0, read(node, TestNode.ADMIN_42, "{\"upTo\":\"latest\"}").json().get("count").asInt());
        assertEquals(3, get(node, TestNode.ADMIN_77, "/v1/timeline/unread-count").get("count").asInt(),
                "admin 77 sees the three events to all, and what admin 42 read is not read for 77");
    }

    @Test
    void liveStreamsShowTheUnreadCountAndFollowReadsMadeElsewhere() {
        Main.Running node = node();
        Main.Running other = closer.add(TestNode.start(Map.of("alimi.redis.key-prefix",
                node.settings().string("alimi.redis.key-prefix", "alimi:"))));
        Publisher publisher = new Publisher(node.port());
        publisher.publish("l-1", "mall:1");
        publisher.publish("l-2", "admin:42");
        publisher.publish("l-3", "all");

        SseClient sse = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "unread=true&scopes=mall:1", null));
        assertEquals("ready", sse.next(WAIT).type());
        SseClient.Event first = sse.next(WAIT);
        assertEquals("unread", first.type());
        assertEquals(3, first.json().get("count").asInt(), "the count is over all the admin's scopes, not the stream's");
        WsClient ws = closer.add(WsClient.as(other.port(), TestNode.ADMIN_42, "unread=true"));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
        JsonNode wsFirst = ws.next(WAIT);
        assertEquals("unread", wsFirst.get("op").asText());
        assertEquals(3, wsFirst.get("count").asInt());

        assertEquals(200, read(other, TestNode.ADMIN_42, "{\"eventId\":\"l-2\"}").status());
        assertEquals(2, sse.nextExcept(WAIT).json().get("count").asInt(), "a read on another node reaches this stream");
        assertEquals(2, ws.next(WAIT).get("count").asInt());
        assertEquals(200, read(node, TestNode.ADMIN_42, "{\"upTo\":\"latest\"}").status());
        assertEquals(0, sse.nextExcept(WAIT).json().get("count").asInt());
        assertEquals("0", ws.next(WAIT).get("text").asText());

        SseClient without = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", without.next(WAIT).type());
        publisher.publish("l-4", "mall:1");
        assertEquals("order.created", without.next(WAIT).type(), "no unread item unless asked for");
    }

    @Test
    void theBadgeStopsAt99Plus() {
        Main.Running node = node();
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            batch.add(Events.json("b-" + i, "admin:42"));
        }
        new Publisher(node.port()).publishAll(batch);
        JsonNode unread = get(node, TestNode.ADMIN_42, "/v1/timeline/unread-count");
        assertEquals(99, unread.get("count").asInt());
        assertTrue(unread.get("capped").asBoolean());
        assertEquals("99+", unread.get("text").asText());
    }

    @Test
    void badTimelineRequestsNameWhatIsWrong() {
        Main.Running node = node();
        Http http = new Http(node.port());
        String auth = "Bearer " + TestNode.ADMIN_42;
        assertEquals(401, http.get("/v1/timeline").status());
        Http.Reply badBefore = http.get("/v1/timeline?before=yesterday", "Authorization", auth);
        assertEquals(400, badBefore.status());
        assertTrue(badBefore.json().get("detail").asText().startsWith("before: "), badBefore.body());
        assertEquals(400, http.get("/v1/timeline?limit=0", "Authorization", auth).status());
        assertEquals(403, http.get("/v1/timeline?scopes=mall:2", "Authorization", auth).status());
        assertEquals(400, read(node, TestNode.ADMIN_42, "{}").status());
        assertEquals(400, read(node, TestNode.ADMIN_42, "{\"upTo\":\"latest\",\"eventId\":\"x\"}").status());
        assertEquals(400, read(node, TestNode.ADMIN_42, "not json").status());
        Http.Reply foreign = read(node, TestNode.ADMIN_42, "{\"upTo\":\"1732500000000-0.mall:2\"}");
        assertEquals(403, foreign.status());
        assertTrue(foreign.json().get("detail").asText().contains("mall:2"), foreign.body());
    }
}

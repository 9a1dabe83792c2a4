package io.alimi.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.support.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An admin's notification preferences, applied by real nodes on one Redis: streams, timeline, unread count. */
class PreferencesIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node(String prefix, Map<String, String> overrides) {
        Map<String, String> settings = new java.util.HashMap<>(overrides);
        settings.put("alimi.redis.key-prefix", prefix);
        return closer.add(TestNode.start(settings));
    }

    static String event(String id, String type, String targets) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/test\",\"type\":\"" + type + "\","
                + "\"targets\":\"" + targets + "\",\"data\":{\"n\":\"" + id + "\"}}";
    }

    static Http.Reply put(Main.Running node, String token, String body) {
        return new Http(node.port()).put("/v1/preferences", "application/json", body, "Authorization", "Bearer " + token);
    }

    static JsonNode get(Main.Running node, String token, String path) {
        Http.Reply reply = new Http(node.port()).get(path, "Authorization", "Bearer " + token);
        assertEquals(200, reply.status(), reply.body());
        return reply.json();
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("items").forEach(item -> ids.add(item.get("event").get("id").asText()));
        return ids;
    }

    /** The next {@code n} frames that are not unread counts or moved cursors, as "name id", in any order. */
    private static java.util.Set<String> take(SseClient sse, int n) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (seen.size() < n) {
            SseClient.Event frame = sse.nextExcept(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())), "unread");
            seen.add(frame.type() + " " + frame.json().path("id").asText());
        }
        return seen;
    }

    @Test
    void aMuteSavedOnOneNodeReachesTheStreamsAndCountsOfAnotherWithinASecond() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, Map.of());
        Main.Running other = node(prefix, Map.of());
        Publisher publisher = new Publisher(node.port());
        publisher.publishAll(List.of(event("q-1", "product.qna.created", "mall:1"),
                event("q-2", "product.qna.created", "mall:1"), event("o-1", "order.created", "mall:1")));

        SseClient sse = closer.add(SseClient.connect(other.port(), TestNode.ADMIN_42, "unread=true", null));
        assertEquals("ready", sse.next(WAIT).type());
        assertEquals(3, sse.nextExcept(WAIT).json().get("count").asInt());

        long saved = System.nanoTime();
        Http.Reply reply = put(node, TestNode.ADMIN_42, """
                {"mutes": [{"type": "product.qna.*", "channels": ["inbox"]},
                           {"type": "order.created", "scope": "mall:1", "channels": ["live"]}]}""");
        assertEquals(200, reply.status(), reply.body());
        assertTrue(reply.json().get("saved").asBoolean());
        SseClient.Event recount = sse.nextExcept(WAIT);
        long tookMillis = (System.nanoTime() - saved) / 1_000_000;
        assertEquals("unread", recount.type());
        assertEquals(1, recount.json().get("count").asInt(), "questions left the inbox; the muted-on-live order stays in it");
        assertTrue(tookMillis < 1000, "the other node applied the change " + tookMillis + " ms after it was saved");

        publisher.publishAll(List.of(event("q-3", "product.qna.created", "mall:1"),
                event("o-2", "order.created", "mall:1"),
                event("o-3", "order.created", "admin:42"),
                event("o-4", "order.created", "mall:1,admin:42"),
                event("n-1", "notice.published", "all")));
        assertEquals(java.util.Set.of("alimi.quiet o-2", "order.created o-3", "order.created o-4", "notice.published n-1"),
                take(sse, 4), "(order across scopes is not kept) the question is not handed out, the order in the muted mall comes quietly, an "
                        + "order that also reaches the admin themselves comes as any event");

        JsonNode page = get(node, TestNode.ADMIN_42, "/v1/timeline?limit=50");
        assertEquals(java.util.Set.of("n-1", "o-4", "o-3", "o-2", "o-1"), java.util.Set.copyOf(ids(page)),
                "questions are out of the inbox list");
        assertEquals(java.util.Set.of("n-1", "o-4", "o-3", "o-2", "q-3", "o-1", "q-2", "q-1"),
                java.util.Set.copyOf(ids(get(node, TestNode.ADMIN_42, "/v1/timeline?limit=50&muted=include"))), "still in history");
        assertEquals(5, get(other, TestNode.ADMIN_42, "/v1/timeline/unread-count").get("count").asInt());

        WsClient ws = closer.add(WsClient.as(node.port(), TestNode.ADMIN_42, ""));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
        publisher.publishAll(List.of(event("q-4", "product.qna.created", "mall:1"), event("o-5", "order.created", "mall:1"),
                event("o-6", "order.created", "admin:42")));
        JsonNode quiet = ws.nextEvent(WAIT);
        assertEquals("o-5", quiet.get("event").get("id").asText());
        assertTrue(quiet.get("quiet").asBoolean());
        JsonNode shown = ws.nextEvent(WAIT);
        assertEquals("o-6", shown.get("event").get("id").asText());
        assertFalse(shown.has("quiet"));

        JsonNode poll = get(node, TestNode.ADMIN_42, "/v1/poll?wait=0&cursor=" + quiet.get("cursor").asText().replace("=", "%3D"));
        assertEquals(1, poll.get("events").size(), poll.toString());
        assertFalse(poll.has("quiet"), "o-6 is not quiet: " + poll);

        Http.Reply reset = new Http(other.port()).delete("/v1/preferences", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(200, reset.status(), reset.body());
        assertFalse(reset.json().get("saved").asBoolean());
        assertEquals("unread", sse.nextExcept(WAIT, "alimi.quiet", "order.created").type());
        publisher.publish("o-7", "mall:1");
        assertEquals("order.created", sse.nextExcept(WAIT, "unread").type(), "back to the defaults: nothing muted");
    }

    @Test
    void aCriticalTypeCannotBeMutedAndComesThroughAMutedScopeOnEveryChannel() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, Map.of());
        Http.Reply refused = put(node, TestNode.ADMIN_42, "{\"mutes\":[{\"type\":\"fds.alert.raised\",\"channels\":[\"push\"]}]}");
        assertEquals(400, refused.status(), refused.body());
        assertTrue(refused.json().get("detail").asText().startsWith("mutes[0].type: type 'fds.alert.raised' cannot be muted"),
                refused.body());
        assertEquals(400, put(node, TestNode.ADMIN_42, "{\"mutes\":[{\"type\":\"fds.alert.raised\",\"scope\":\"mall:1\",\"channels\":[\"live\"]}]}").status(),
                "not in one scope either");

        assertEquals(200, put(node, TestNode.ADMIN_42, "{\"mutes\":[{\"scope\":\"mall:1\",\"channels\":[\"inbox\",\"push\"]}]}").status());
        SseClient sse = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_42, "", null));
        assertEquals("ready", sse.next(WAIT).type());
        Publisher publisher = new Publisher(node.port());
        publisher.publishAll(List.of(event("o-1", "order.created", "mall:1"), event("f-1", "fds.alert.raised", "mall:1"),
                event("c-1", "claim.requested", "mall:1")));
        publisher.publish("end", "all");
        assertEquals(java.util.Set.of("fds.alert.raised f-1", "order.created end"), take(sse, 2));
        assertEquals(java.util.Set.of("end", "f-1"), java.util.Set.copyOf(ids(get(node, TestNode.ADMIN_42, "/v1/timeline"))));
        assertEquals(2, get(node, TestNode.ADMIN_42, "/v1/timeline/unread-count").get("count").asInt());
    }

    @Test
    void theOperatorsDefaultsApplyUntilAnAdminSavesTheirOwn() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, Map.of("alimi.inbox.default-mutes", "product.qna.*=inbox, *@all=live",
                "alimi.inbox.critical-types", "fds.*,notice.urgent"));
        JsonNode defaults = get(node, TestNode.ADMIN_77, "/v1/preferences");
        assertFalse(defaults.get("saved").asBoolean());
        assertEquals("[{\"type\":\"product.qna.*\",\"channels\":[\"inbox\"]},{\"scope\":\"all\",\"channels\":[\"live\"]}]",
                defaults.get("mutes").toString());
        assertEquals("[\"fds.*\",\"notice.urgent\"]", defaults.get("critical").toString());
        Publisher publisher = new Publisher(node.port());
        publisher.publishAll(List.of(event("q-2", "product.qna.created", "mall:1"), event("q-1", "product.qna.created", "mall:2"),
                event("n-1", "notice.published", "all"), event("f-1", "fds.rule.hit", "all")));
        assertEquals(java.util.Set.of("f-1", "n-1"), java.util.Set.copyOf(ids(get(node, TestNode.ADMIN_77, "/v1/timeline"))));

        assertEquals(200, put(node, TestNode.ADMIN_77, "{\"mutes\":[]}").status());
        assertEquals(java.util.Set.of("f-1", "n-1", "q-1"), java.util.Set.copyOf(ids(get(node, TestNode.ADMIN_77, "/v1/timeline"))),
                "an admin who saved an empty list mutes nothing");
        assertEquals(java.util.Set.of("f-1", "n-1"), java.util.Set.copyOf(ids(get(node, TestNode.ADMIN_42, "/v1/timeline"))),
                "another admin keeps the defaults");
    }

    @Test
    void aMuteOfAMallTheAdminLostIsLeftOutOfWhatTheyReadSoSendingItBackIsNotRefused() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, Map.of());
        // Saved while admin 42 had mall 9 (and, a second rule, still valid): written as the store writes it.
        try (io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(TestServers.redis().url());
             var connection = client.connect()) {
            connection.sync().set(prefix + "prefs:{admin:42}", "{\"v\":1,\"mutes\":[{\"scope\":\"mall:9\",\"channels\":[\"live\"]},"
                    + "{\"type\":\"order.created\",\"channels\":[\"push\"]}]}");
        }
        JsonNode read = get(node, TestNode.ADMIN_42, "/v1/preferences");
        assertEquals("[{\"type\":\"order.created\",\"channels\":[\"push\"]}]", read.get("mutes").toString());
        Http.Reply sentBack = put(node, TestNode.ADMIN_42, "{\"mutes\":" + read.get("mutes") + "}");
        assertEquals(200, sentBack.status(), sentBack.body());
    }

    @Test
    void badPreferencesAreRefusedNamingTheFieldAndNothingSavedIsLost() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = node(prefix, Map.of());
        String good = "{\"mutes\":[{\"type\":\"order.created\",\"channels\":[\"push\"]}]}";
        assertEquals(200, put(node, TestNode.ADMIN_42, good).status());
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("[]", "body: must be an object");
        cases.put("{\"mutes\":{}}", "mutes: must be an array");
        cases.put("{\"mute\":[]}", "mute: unknown member");
        cases.put("{\"mutes\":[{\"channels\":[\"live\"]}]}", "mutes[0]: give a type, a scope or both");
        cases.put("{\"mutes\":[{\"type\":\"order.created\"}]}", "mutes[0].channels: must be a non-empty array");
        cases.put("{\"mutes\":[{\"type\":\"order.created\",\"channels\":[\"email\"]}]}", "mutes[0].channels: 'email' is not one of live, inbox, push");
        cases.put("{\"mutes\":[{\"type\":\"order.*.x\",\"channels\":[\"live\"]}]}", "mutes[0].type: 'order.*.x': a * may only end a prefix");
        cases.put("{\"mutes\":[{\"type\":\"order created\",\"channels\":[\"live\"]}]}", "mutes[0].type: must be printable ASCII");
        cases.put("{\"mutes\":[{\"scope\":\"mall:1}\",\"channels\":[\"live\"]}]}", "mutes[0].scope:");
        cases.put("{\"mutes\":[{\"type\":\"a.b\",\"colour\":\"red\",\"channels\":[\"live\"]}]}", "mutes[0].colour: unknown member");
        cases.put("{\"mutes\":[{\"type\":\"a.b\",\"channels\":[\"live\"]},{\"type\":\"a.b\",\"channels\":[\"push\"]}]}",
                "mutes[1]: the same type and scope as mutes[0]");
        cases.put("{\"mutes\":[" + String.join(",", java.util.Collections.nCopies(201, "{\"type\":\"a.b\",\"channels\":[\"live\"]}")) + "]}",
                "mutes: at most 200 per admin, got 201");
        cases.put("not json", "body:");
        for (Map.Entry<String, String> bad : cases.entrySet()) {
            Http.Reply reply = put(node, TestNode.ADMIN_42, bad.getKey());
            assertEquals(400, reply.status(), bad.getKey() + " -> " + reply.body());
            assertEquals("application/problem+json", reply.header("Content-Type"));
            assertTrue(reply.json().get("detail").asText().startsWith(bad.getValue()),
                    bad.getKey() + " -> " + reply.json().get("detail").asText());
        }
        Http.Reply foreign = put(node, TestNode.ADMIN_42, "{\"mutes\":[{\"scope\":\"mall:2\",\"channels\":[\"live\"]}]}");
        assertEquals(403, foreign.status(), "admin 42 is not of mall 2: " + foreign.body());
        assertTrue(foreign.json().get("detail").asText().startsWith("mutes[0].scope: mall:2 is not one of this admin's scopes"));
        assertEquals(401, new Http(node.port()).put("/v1/preferences", "application/json", good).status());
        assertEquals("[{\"type\":\"order.created\",\"channels\":[\"push\"]}]",
                get(node, TestNode.ADMIN_42, "/v1/preferences").get("mutes").toString(), "what was saved is intact");
    }
}

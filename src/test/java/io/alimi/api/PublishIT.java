package io.alimi.api;

import io.alimi.http.Problem;
import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.RedisProcess;
import io.alimi.support.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublishIT {

    private static final String KEY = PublishService.API_KEY.defaultCase();
    private static final String SINGLE = "application/cloudevents+json";
    private static final String BATCH = "application/cloudevents-batch+json";
    private static Main.Running node;
    private static Http http;

    @BeforeAll
    static void start() {
        node = TestNode.start(Map.of("alimi.publish.max-body-bytes", "64KiB", "alimi.publish.max-batch-events", "50",
                "alimi.events.max-data-bytes", "16KiB"));
        http = new Http(node.port());
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static Http.Reply publish(String contentType, String body) {
        return http.post("/v1/events", contentType, body, KEY, TestNode.API_KEY);
    }

    private static JsonNode mallEvents(String query) {
        Http.Reply reply = http.get("/v1/scopes/mall:1/events" + query, "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(200, reply.status(), reply.body());
        return reply.json();
    }

    private static void assertProblem(Http.Reply reply, int status, String code, String detailPart) {
        assertEquals(status, reply.status(), reply.body());
        assertEquals(Problem.MEDIA_TYPE, reply.header("content-type"));
        JsonNode body = reply.json();
        assertEquals("urn:alimi:problem:" + code, body.get("type").asText(), reply.body());
        assertEquals(status, body.get("status").asInt());
        assertTrue(body.get("detail").asText().contains(detailPart), "expected '" + detailPart + "' in " + reply.body());
    }

    private static String unique(String id) {
        return id + "-" + System.nanoTime();
    }

    @Test
    void anEventIsAcceptedWithItsEntryIdPerScopeAndLandsOnTheTimeline() {
        String id = unique("ord");
        Http.Reply reply = publish(SINGLE, Events.json(id, "mall:1,admin:42"));

        assertEquals(202, reply.status(), reply.body());
        JsonNode accepted = reply.json().get("accepted").get(0);
        assertEquals(id, accepted.get("id").asText());
        assertFalse(accepted.get("duplicate").asBoolean());
        assertEquals("mall:1", accepted.get("entries").get(0).get("scope").asText());
        assertEquals("admin:42", accepted.get("entries").get(1).get("scope").asText());
        String entry = accepted.get("entries").get(0).get("entry").asText();

        JsonNode newest = mallEvents("?limit=1").get("events").get(0);
        assertEquals(entry, newest.get("entry").asText());
        assertEquals(id, newest.get("event").get("id").asText());
        assertEquals("order.created", newest.get("event").get("type").asText());
    }

    @Test
    void theSameEventIdAgainIsADuplicateWithTheOriginalEntry() {
        String id = unique("ord");
        String first = publish(SINGLE, Events.json(id, "mall:1")).json().get("accepted").get(0).get("entries").get(0).get("entry").asText();
        Http.Reply again = publish(SINGLE, Events.json(id, "mall:1"));

        assertEquals(202, again.status());
        JsonNode accepted = again.json().get("accepted").get(0);
        assertTrue(accepted.get("duplicate").asBoolean());
        assertEquals(first, accepted.get("entries").get(0).get("entry").asText());
    }

    @Test
    void aBatchIsStoredInOrder() {
        List<String> ids = new ArrayList<>();
        StringBuilder batch = new StringBuilder("[");
        for (int i = 0; i < 5; i++) {
            ids.add(unique("b" + i));
            batch.append(i == 0 ? "" : ",").append(Events.json(ids.get(i), "mall:1"));
        }
        Http.Reply reply = publish(BATCH, batch.append("]").toString());

        assertEquals(202, reply.status(), reply.body());
        assertEquals(5, reply.json().get("accepted").size());
        JsonNode events = mallEvents("?limit=5").get("events");
        for (int i = 0; i < 5; i++) {
            assertEquals(ids.get(4 - i), events.get(i).get("event").get("id").asText(), "newest first");
        }
    }

    @Test
    void plainJsonMayCarryOneEventOrABatch() {
        assertEquals(202, publish("application/json", Events.json(unique("j"), "mall:1")).status());
        assertEquals(202, publish("application/json; charset=utf-8", "[" + Events.json(unique("j"), "mall:1") + "]").status());
    }

    @Test
    void aBatchWithInvalidEventsStoresNothingAndListsEveryFault() {
        String good = unique("good");
        String body = "[" + Events.json(good, "mall:1") + ","
                + "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\"},"
                + Events.json(unique("bad"), "mall:1,shop:2") + "]";
        Http.Reply reply = publish(BATCH, body);

        assertProblem(reply, 400, "invalid-event", "2 of 3 events are invalid; nothing was stored. Event 1: targets: required");
        JsonNode errors = reply.json().get("errors");
        assertEquals(1, errors.get(0).get("index").asInt());
        assertEquals("targets", errors.get(0).get("field").asText());
        assertEquals(2, errors.get(1).get("index").asInt());
        assertTrue(errors.get(1).get("message").asText().contains("unknown scope kind 'shop'"));
        for (JsonNode event : mallEvents("?limit=50").get("events")) {
            assertFalse(event.get("event").get("id").asText().equals(good), "the valid event of a refused batch was stored");
        }
    }

    @Test
    void aSingleInvalidEventNamesTheFieldAndRule() {
        assertProblem(publish(SINGLE, "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"mall:1\",\"data\":[1]}"),
                400, "invalid-event", "data: must be a JSON object, got an array");
    }

    @Test
    void malformedJsonSaysWhere() {
        assertProblem(publish(SINGLE, "{\"specversion\": \"1.0\",,}"), 400, "invalid-request", "body: not valid JSON");
        assertTrue(publish(SINGLE, "{\"specversion\": \"1.0\",,}").json().get("detail").asText().contains("line 1, column"));
    }

    @Test
    void shapesThatDoNotMatchTheContentTypeAreRefused() {
        assertProblem(publish(SINGLE, "[" + Events.json(unique("a"), "all") + "]"), 400, "invalid-request", "needs Content-Type " + BATCH);
        assertProblem(publish(BATCH, Events.json(unique("a"), "all")), 400, "invalid-request", "a batch must be a JSON array");
        assertProblem(publish(BATCH, "[]"), 400, "invalid-request", "the batch is empty");
        assertProblem(publish(SINGLE, ""), 400, "invalid-request", "body: empty");
    }

    @Test
    void aMissingOrUnknownApiKeyIsRefusedWithoutEchoingIt() {
        Http.Reply missing = http.post("/v1/events", SINGLE, Events.json(unique("k"), "all"));
        assertProblem(missing, 401, "unauthorized", "missing X-Api-Key header");

        String forged = "forged-key-that-should-not-echo";
        Http.Reply wrong = http.post("/v1/events", SINGLE, Events.json(unique("k"), "all"), KEY, forged);
        assertProblem(wrong, 401, "unauthorized", "unknown API key");
        assertFalse(wrong.body().contains(forged));
    }

    @Test
    void otherMediaTypesAreRefusedNamingTheAcceptedOnes() {
        assertProblem(publish("text/plain", Events.json(unique("m"), "all")), 415, "unsupported-media-type",
                "'text/plain' is not accepted; use application/cloudevents+json");
        assertProblem(publish(null, Events.json(unique("m"), "all")), 415, "unsupported-media-type", "Content-Type is missing");
    }

    @Test
    void aBodyOverTheLimitIsRefusedWhetherDeclaredOrStreamed() throws Exception {
        String big = Events.json(unique("big"), "all", "{\"pad\":\"" + "x".repeat(70 * 1024) + "\"}");
        assertProblem(publish(SINGLE, big), 413, "payload-too-large", "bytes exceed the limit of 65,536");

        // Declared far over the server's hard limit: refused before a byte of the body is read.
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.port())) {
            socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + SINGLE + "\r\n" + KEY + ": "
                    + TestNode.API_KEY + "\r\nContent-Length: 5242880\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readNBytes(1024), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            assertTrue(response.contains("body: exceeds the limit of 65,536 bytes"), response);
            assertTrue(response.contains(Problem.MEDIA_TYPE), response);
        }

        HttpRequest chunked = http.request("/v1/events")
                .header("Content-Type", SINGLE).header(KEY, TestNode.API_KEY)
                .POST(unknownLength(big.getBytes(StandardCharsets.UTF_8))).build();
        assertProblem(http.send(chunked), 413, "payload-too-large", "more than 65,536 bytes");
    }

    @Test
    void aRequestThatIsNotValidHttpGetsAProblemThatDoesNotEchoIt() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.port())) {
            socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Api-Key secret-in-a-broken-header\r\n"
                    + "Content-Length: 2\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 400"), response);
            assertTrue(response.contains("urn:alimi:problem:invalid-request"), response);
            assertFalse(response.contains("secret-in-a-broken-header"), response);
        }
    }

    @Test
    void tooManyEventsInABatchAreRefused() {
        StringBuilder batch = new StringBuilder("[");
        for (int i = 0; i < 51; i++) {
            batch.append(i == 0 ? "" : ",").append(Events.json("many-" + i, "all", "{}"));
        }
        assertProblem(publish(BATCH, batch.append("]").toString()), 413, "payload-too-large", "51 events exceed the batch limit of 50");
    }

    @Test
    void configuredEventLimitsApply() {
        String data = "{\"pad\":\"" + "x".repeat(17 * 1024) + "\"}";
        assertProblem(publish(SINGLE, Events.json(unique("d"), "all", data)), 400, "invalid-event", "exceed the limit of 16,384");
    }

    @Test
    void whenRedisIsGoneThePublisherIsToldToRetry() throws Exception {
        try (RedisProcess own = RedisProcess.startEphemeral();
             Main.Running isolated = TestNode.start(Map.of("alimi.redis.url", own.url(), "alimi.redis.command-timeout", "1s"))) {
            Http client = new Http(isolated.port());
            assertEquals(202, client.post("/v1/events", SINGLE, Events.json(unique("r"), "all"), KEY, TestNode.API_KEY).status());
            own.stop();

            Http.Reply reply = client.post("/v1/events", SINGLE, Events.json(unique("r"), "all"), KEY, TestNode.API_KEY);
            assertProblem(reply, 503, "unavailable", "retry with the same event ids");
            assertEquals("1", reply.header("retry-after"));
            Http.Reply ready = client.get("/health/ready");
            assertEquals(503, ready.status(), ready.body());
            assertEquals("DOWN", ready.json().get("checks").get("redis").get("status").asText());
        }
    }

    @Test
    void healthIsLiveAndReadyWithRedisUp() {
        assertEquals(200, http.get("/health/live").status());
        Http.Reply ready = http.get("/health/ready");
        assertEquals(200, ready.status(), ready.body());
        assertEquals("UP", ready.json().get("checks").get("redis").get("status").asText());
    }

    // Reading one scope

    @Test
    void readingAScopeNeedsAnAdminTokenEntitledToIt() {
        Http.Reply none = http.get("/v1/scopes/mall:1/events");
        assertProblem(none, 401, "unauthorized", "missing Authorization: Bearer");
        assertEquals("Bearer", none.header("www-authenticate"));

        assertProblem(http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer not-a-real-token-000"), 401, "unauthorized", "not valid");
        assertProblem(http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer " + TestNode.ADMIN_77), 403, "forbidden",
                "scope mall:1 is not one of this admin's scopes");
        assertProblem(http.get("/v1/scopes/admin:77/events", "Authorization", "Bearer " + TestNode.ADMIN_42), 403, "forbidden", "admin:77");
        assertEquals(200, http.get("/v1/scopes/partner:7/events", "Authorization", "Bearer " + TestNode.ADMIN_42).status());
        assertEquals(200, http.get("/v1/scopes/all/events", "Authorization", "Bearer " + TestNode.ADMIN_77).status());
    }

    @Test
    void readingAScopeRefusesBadParametersByName() {
        String auth = "Bearer " + TestNode.ADMIN_42;
        assertProblem(http.get("/v1/scopes/shop:1/events", "Authorization", auth), 400, "invalid-request", "scope: 'shop:1' has an unknown scope kind");
        assertProblem(http.get("/v1/scopes/mall:1/events?limit=0", "Authorization", auth), 400, "invalid-request", "limit: must be a whole number from 1 to 500");
        assertProblem(http.get("/v1/scopes/mall:1/events?before=yesterday", "Authorization", auth), 400, "invalid-request", "before: 'yesterday' is not an entry id");
        assertProblem(http.get("/v1/scopes/mall:1/events?before=1-0&after=1-0", "Authorization", auth), 400, "invalid-request", "either before or after");
    }

    @Test
    void pagesGoNewestFirstWithANextPositionAndAfterGoesOldestFirst() {
        try (Main.Running isolated = TestNode.start(Map.of())) {
            Http client = new Http(isolated.port());
            StringBuilder batch = new StringBuilder("[");
            for (int i = 0; i < 7; i++) {
                batch.append(i == 0 ? "" : ",").append(Events.json("p-" + i, "mall:1"));
            }
            assertEquals(202, client.post("/v1/events", BATCH, batch.append("]").toString(), KEY, TestNode.API_KEY).status());
            String auth = "Bearer " + TestNode.ADMIN_42;

            JsonNode first = client.get("/v1/scopes/mall:1/events?limit=3", "Authorization", auth).json();
            assertEquals(List.of("p-6", "p-5", "p-4"), ids(first));
            assertEquals(7, first.get("length").asInt());
            assertNotNull(first.get("epoch").textValue());
            JsonNode second = client.get("/v1/scopes/mall:1/events?limit=3&before=" + first.get("next").asText(), "Authorization", auth).json();
            assertEquals(List.of("p-3", "p-2", "p-1"), ids(second));
            JsonNode third = client.get("/v1/scopes/mall:1/events?limit=3&before=" + second.get("next").asText(), "Authorization", auth).json();
            assertEquals(List.of("p-0"), ids(third));
            assertTrue(third.get("next").isNull());

            JsonNode since = client.get("/v1/scopes/mall:1/events?after=" + second.get("events").get(0).get("entry").asText(), "Authorization", auth).json();
            assertEquals(List.of("p-4", "p-5", "p-6"), ids(since));
            assertEquals(first.get("last").asText(), first.get("events").get(0).get("entry").asText());
        }
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("events").forEach(e -> ids.add(e.get("event").get("id").asText()));
        return ids;
    }

    /** A body publisher that does not declare its length, so the client sends it chunked. */
    private static HttpRequest.BodyPublisher unknownLength(byte[] body) {
        HttpRequest.BodyPublisher known = HttpRequest.BodyPublishers.ofByteArray(body);
        return new HttpRequest.BodyPublisher() {
            @Override
            public long contentLength() {
                return -1;
            }

            @Override
            public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
                known.subscribe(subscriber);
            }
        };
    }
}

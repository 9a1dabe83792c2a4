package io.alimi.transport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.alimi.Main;
import io.alimi.event.Cursor;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.support.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An operator of 10,000 malls (a platform operator, a company with many malls) streams, and resumes on any node
 * and transport, as an admin of one mall does: every cursor fits a header, and every event comes once.
 */
class WideAdminIT {

    private static final int MALLS = 10_000;
    private static final String TOKEN = "test-wide-operator-token-0001";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    final Closer closer = new Closer();

    private static Path tokens() throws IOException {
        List<String> malls = new ArrayList<>();
        for (int m = 0; m < MALLS; m++) {
            malls.add(Integer.toString(100_000 + m));
        }
        Map<String, Object> operator = Map.of("adminNo", "9000", "malls", malls, "roles", List.of("operator"));
        Path file = Files.createTempFile("alimi-wide-tokens-", ".json");
        file.toFile().deleteOnExit();
        Files.writeString(file, new ObjectMapper().writeValueAsString(Map.of(TOKEN, operator)));
        return file;
    }

    private List<Main.Running> nodes() throws IOException {
        Map<String, String> shared = new HashMap<>(Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix(),
                "alimi.auth.dev-tokens-file", tokens().toString()));
        return List.of(closer.add(TestNode.start(shared)), closer.add(TestNode.start(shared)));
    }

    private static String mall(int m) {
        return "mall:" + (100_000 + m);
    }

    @Test
    void anOperatorOfTenThousandMallsStreamsAndResumesOnEveryTransportAndNode() throws IOException {
        List<Main.Running> nodes = nodes();
        Publisher publisher = new Publisher(nodes.get(0).port());

        // SSE on the first node.
        SseClient sse = closer.add(SseClient.connect(nodes.get(0).port(), TOKEN, "", null));
        int status = sse.status();
        assertEquals(200, status, () -> sse.statusBody());
        SseClient.Event ready = sse.next(WAIT);
        assertEquals("ready", ready.type());
        assertEquals(MALLS + 2, ready.json().get("scopes").size());
        publisher.publish("w-1", mall(1) + "," + mall(9_999));
        publisher.publish("w-2", mall(5_000));
        assertEquals(List.of("w-1", "w-2"), sse.ids(2, WAIT));
        String cursor = sse.lastEventId();
        assertTrue(cursor.length() <= Cursor.MAX_WRITTEN_LENGTH, cursor.length() + " characters");
        sse.close();

        // Away: events to malls at both ends of the list, one to several of them; back over WebSocket elsewhere.
        publisher.publish("w-3", mall(0) + "," + mall(7_777));
        publisher.publish("w-4", "all");
        WsClient ws = closer.add(WsClient.as(nodes.get(1).port(), TOKEN, "cursor=" + cursor));
        JsonNode wsReady = ws.next(WAIT);
        assertTrue(wsReady.get("resumed").asBoolean());
        List<String> got = new ArrayList<>();
        while (got.size() < 2) {
            got.add(ws.nextEvent(WAIT).get("event").get("id").asText());
        }
        assertEquals(List.of("w-3", "w-4"), got);
        publisher.publish("w-5", mall(42));
        JsonNode live = ws.nextEvent(WAIT);
        assertEquals("w-5", live.get("event").get("id").asText());
        String wsCursor = live.get("cursor").asText();
        assertTrue(wsCursor.length() <= Cursor.MAX_WRITTEN_LENGTH);
        ws.close();

        // And by long-poll, from the WebSocket's cursor, on the first node again.
        publisher.publish("w-6", mall(9_998));
        Http.Reply poll = new Http(nodes.get(0).port()).get("/v1/poll?wait=5&cursor=" + wsCursor,
                "Authorization", "Bearer " + TOKEN);
        assertEquals(200, poll.status(), poll.body());
        List<String> polled = new ArrayList<>();
        poll.json().get("events").forEach(e -> polled.add(e.get("id").asText()));
        assertEquals(List.of("w-6"), polled);
        assertEquals(0, poll.json().get("gaps").size());
        assertTrue(poll.json().get("cursor").asText().length() <= Cursor.MAX_WRITTEN_LENGTH);
    }

    @Test
    void aPageOfOneMallThenTheWholeDashboardGetsWhatCameMeanwhileEverywhereOnce() throws IOException {
        List<Main.Running> nodes = nodes();
        Publisher publisher = new Publisher(nodes.get(0).port());
        SseClient one = closer.add(SseClient.connect(nodes.get(0).port(), TOKEN, "scopes=" + mall(3), null));
        one.next(WAIT);
        publisher.publish("p-0", mall(3));
        assertEquals(List.of("p-0"), one.ids(1, WAIT));
        String cursor = one.lastEventId();
        one.close();

        publisher.publish("p-1", mall(3) + ",admin:9000");
        publisher.publish("p-2", mall(8_000));
        publisher.publish("p-3", "admin:9000");
        SseClient all = closer.add(SseClient.connect(nodes.get(1).port(), TOKEN, "", cursor));
        assertTrue(all.next(WAIT).json().get("resumed").asBoolean());
        assertEquals(List.of("p-1", "p-2", "p-3"), all.ids(3, WAIT));
        publisher.publish("p-4", mall(3) + "," + mall(8_000) + ",admin:9000");
        assertEquals(List.of("p-4"), all.ids(1, WAIT));
    }
}

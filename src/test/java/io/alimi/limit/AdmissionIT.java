package io.alimi.limit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.alimi.Main;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.WsClient;
import io.alimi.transport.WsEndpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node-wide admission rate against a real node: a wave of stream opens from many clients is let in at the rate,
 * the rest told to come back after a jittered delay. The nodes here admit 1 stream per second, so the few
 * milliseconds each step takes cannot refill the bucket by surprise.
 */
class AdmissionIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern WS_DELAY = Pattern.compile("^retry after (\\d+) s: .*admissions-per-second.*");

    @RegisterExtension
    final Closer closer = new Closer();

    private Main.Running node(int perSecond, int burst) {
        return closer.add(TestNode.start(Map.of(
                "alimi.limits.admissions-per-second", Integer.toString(perSecond),
                "alimi.limits.admission-burst", Integer.toString(burst))));
    }

    private static String metric(Main.Running node, String series) {
        String text = new Http(node.port()).get("/metrics").body();
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return line.substring(series.length() + 1);
            }
        }
        throw new AssertionError("no " + series + " in:\n" + text);
    }

    private static String refusals(Main.Running node) {
        return metric(node, "alimi_limit_refusals_total{limit=\"admissions-per-second\"}");
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    private static long retryAfter(String header, long most) {
        assertTrue(header != null && header.matches("\\d+"), "Retry-After: " + header);
        long seconds = Long.parseLong(header);
        assertTrue(seconds >= 1 && seconds <= most, "Retry-After " + seconds + " not within 1 to " + most);
        return seconds;
    }

    private static void assertAdmissionProblem(int status, String body) {
        assertEquals(503, status, body);
        JsonNode problem = json(body);
        assertEquals("urn:alimi:problem:unavailable", problem.get("type").asText(), body);
        assertTrue(problem.get("detail").asText().contains("admissions-per-second"), body);
    }

    @Test
    void aWaveOfOpensBeyondTheBurstIsRefused503WithABoundedRetryAfterAndTheRefusedGetInLater() {
        int burst = 4;
        Main.Running node = node(1, burst);
        String[] tokens = {TestNode.ADMIN_42, TestNode.ADMIN_77};
        long started = System.nanoTime();
        List<SseClient> wave = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            wave.add(closer.add(SseClient.connect(node.port(), tokens[i % 2], "", null)));
        }
        List<SseClient> admitted = new ArrayList<>();
        List<Integer> refused = new ArrayList<>();
        for (int i = 0; i < wave.size(); i++) {
            int status = wave.get(i).status();
            assertTrue(status == 200 || status == 503, "open " + i + ": " + status);
            if (status == 200) {
                admitted.add(wave.get(i));
            } else {
                refused.add(i);
            }
        }
        long elapsedSeconds = (System.nanoTime() - started + 999_999_999L) / 1_000_000_000L;
        assertTrue(admitted.size() >= burst && admitted.size() <= burst + elapsedSeconds,
                admitted.size() + " admitted in " + elapsedSeconds + " s at 1 per second after a burst of " + burst);
        // The n-th client refused needs about n seconds at 1 per second: it is told 1 s up to that, never more.
        for (int i : refused) {
            SseClient client = wave.get(i);
            retryAfter(client.header("Retry-After"), refused.size() + 1L);
            assertAdmissionProblem(client.status(), client.statusBody());
        }
        assertEquals(Integer.toString(refused.size()), refusals(node));
        assertEquals("1.0", metric(node, "alimi_limit{limit=\"admissions-per-second\"}"));
        assertTrue(Double.parseDouble(metric(node, "alimi_admission_backlog_seconds")) > 0, "clients are waiting");

        for (SseClient client : admitted) {
            assertEquals("ready", client.next(WAIT).type());
        }
        new Publisher(node.port()).publish("after-the-wave", "all");
        for (SseClient client : admitted) {
            assertEquals("after-the-wave", client.next(WAIT).json().get("id").asText(), "admitted streams are live");
        }

        for (int i : refused) {
            String token = tokens[i % 2];
            SseClient later = Await.value(Duration.ofSeconds(30), "refused client " + i + " to be admitted", () -> {
                SseClient again = SseClient.connect(node.port(), token, "", null);
                if (again.status() == 200) {
                    return closer.add(again);
                }
                again.close();
                return again;
            }, again -> again.status() == 200);
            assertEquals("ready", later.next(WAIT).type());
        }
    }

    @Test
    void aBusyNodeClosesAWebSocket1013WithTheDelayInTheReasonAndAnswersALongPoll503() {
        Main.Running node = node(1, 1);
        Http http = new Http(node.port());
        assertEquals(200, http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_42).status());

        WsClient ws = closer.add(WsClient.as(node.port(), TestNode.ADMIN_77, ""));
        assertEquals(WsEndpoint.TRY_AGAIN_LATER, ws.closeCode(WAIT));
        Matcher delay = WS_DELAY.matcher(ws.closeReason());
        assertTrue(delay.matches(), ws.closeReason());
        retryAfter(delay.group(1), 2);

        Http.Reply poll = http.get("/v1/poll?wait=0", "Authorization", "Bearer " + TestNode.ADMIN_77);
        assertAdmissionProblem(poll.status(), poll.body());
        retryAfter(poll.header("Retry-After"), 3);
        assertEquals("2", refusals(node));
    }

    @Test
    void aTicketIsCountedWhenIssuedSoTheStreamItOpensIsNotRefusedAgain() {
        Main.Running node = node(1, 1);
        Http http = new Http(node.port());
        Http.Reply issued = http.post("/v1/tickets", null, "", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(200, issued.status(), issued.body());
        String ticket = issued.json().get("ticket").asText();

        Http.Reply busy = http.post("/v1/tickets", null, "", "Authorization", "Bearer " + TestNode.ADMIN_77);
        assertAdmissionProblem(busy.status(), busy.body());
        retryAfter(busy.header("Retry-After"), 2);
        SseClient withToken = closer.add(SseClient.connect(node.port(), TestNode.ADMIN_77, "", null));
        assertAdmissionProblem(withToken.status(), withToken.statusBody());

        SseClient withTicket = closer.add(SseClient.connect(node.port(), "/v1/stream?ticket=" + ticket, Map.of()));
        assertEquals(200, withTicket.status(), "the ticket paid for its stream when it was issued");
        assertEquals("ready", withTicket.next(WAIT).type());
        assertEquals("2", refusals(node));
        assertEquals("0", metric(node, "alimi_limit_refusals_total{limit=\"connects-per-second-per-ip\"}"));
    }
}

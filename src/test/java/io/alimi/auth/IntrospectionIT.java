package io.alimi.auth;

import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.AdminService;
import io.alimi.support.Await;
import io.alimi.support.Http;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opaque admin tokens checked at a real local admin service, through the node's cache. */
class IntrospectionIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    @RegisterExtension
    final Closer closer = new Closer();
    private final AdminService admin = closer.add(new AdminService());

    private Main.Running node(Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "alimi.auth.introspection.url", admin.introspectionUrl(),
                "alimi.auth.introspection.cache-ttl", "60s"));
        settings.putAll(overrides);
        return closer.add(TestNode.start(settings));
    }

    private static Map<String, Object> admin(String adminNo, String... malls) {
        return Map.of("sub", adminNo, "malls", List.of(malls));
    }

    private static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token};
    }

    @Test
    void aThousandConcurrentConnectsWithOneTokenCostOneCallToTheAdminService() throws Exception {
        Main.Running node = node(Map.of(
                "alimi.limits.connections-per-admin", "2000",
                "alimi.limits.connect-burst-per-ip", "5000",
                "alimi.limits.connects-per-second-per-ip", "5000",
                "alimi.limits.admission-burst", "5000",
                "alimi.limits.admissions-per-second", "5000"));
        String token = "opaque-token-burst-0001";
        admin.activate(token, admin("501", "5"));
        admin.delay(Duration.ofMillis(300));
        ConcurrentLinkedQueue<SseClient> clients = new ConcurrentLinkedQueue<>();
        try (ExecutorService connecting = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 1000; i++) {
                connecting.submit(() -> clients.add(SseClient.connect(node.port(), token, "", null)));
            }
        }
        try {
            assertEquals(1000, clients.size());
            for (SseClient client : clients) {
                assertEquals("ready", client.next(WAIT).type());
            }
            assertEquals(1, admin.introspections(), "one call for the whole burst");
        } finally {
            clients.forEach(SseClient::close);
        }
    }

    @Test
    void whenTheAdminServiceIsDownCachedTokensWorkUntilTheirTtlAndNewOnesGet503Not500() {
        Main.Running node = node(Map.of("alimi.auth.introspection.cache-ttl", "2s",
                "alimi.auth.introspection.refresh-after", "1500ms"));
        Http http = new Http(node.port());
        admin.activate("opaque-token-known-0001", admin("502", "5"));
        admin.activate("opaque-token-new-00001", admin("503", "5"));
        assertEquals(200, http.get("/v1/poll?wait=0", bearer("opaque-token-known-0001")).status());

        admin.down();
        assertEquals(200, http.get("/v1/poll?wait=0", bearer("opaque-token-known-0001")).status(), "cached profile still works");
        Http.Reply fresh = http.get("/v1/poll?wait=0", bearer("opaque-token-new-00001"));
        assertEquals(503, fresh.status(), fresh.body());
        assertEquals("1", fresh.header("Retry-After"));
        assertTrue(fresh.json().get("detail").asText().contains("cannot be checked right now"), fresh.body());
        Await.until(WAIT, "the cached profile to run out", () ->
                http.get("/v1/poll?wait=0", bearer("opaque-token-known-0001")).status() == 503);

        admin.up();
        assertEquals(200, http.get("/v1/poll?wait=0", bearer("opaque-token-new-00001")).status(), "back when the service is");
    }

    @Test
    void aRevokedTokenStopsReceivingWithinTheCacheTtl() {
        Main.Running node = node(Map.of("alimi.auth.introspection.cache-ttl", "2s",
                "alimi.auth.introspection.refresh-after", "1s"));
        String token = "opaque-token-revoked-01";
        admin.activate(token, admin("504", "5"));
        SseClient client = closer.add(SseClient.connect(node.port(), token, "", null));
        assertEquals("ready", client.next(WAIT).type());

        long revokedAt = System.nanoTime();
        admin.revoke(token);
        SseClient.Event end = client.nextExcept(WAIT);
        long took = Duration.ofNanos(System.nanoTime() - revokedAt).toMillis();
        assertEquals("reconnect", end.type());
        assertEquals("reauth", end.json().get("reason").asText());
        assertTrue(took <= 2_000 + 300, "ended " + took + " ms after revocation, TTL 2 s");
        Await.until(WAIT, "the stream to end", client::ended);
        assertEquals(401, new Http(node.port()).get("/v1/poll?wait=0", bearer(token)).status());
    }

    @Test
    void aTokenWhoseMallsShrankIsToldToReauthenticate() {
        Main.Running node = node(Map.of("alimi.auth.introspection.cache-ttl", "2s",
                "alimi.auth.introspection.refresh-after", "1s"));
        String token = "opaque-token-shrinks-01";
        admin.activate(token, admin("505", "5", "6"));
        SseClient client = closer.add(SseClient.connect(node.port(), token, "scopes=mall:6", null));
        assertEquals("ready", client.next(WAIT).type());
        admin.activate(token, admin("505", "5"));
        SseClient.Event end = client.nextExcept(WAIT);
        assertEquals("reauth", end.json().get("reason").asText());
    }

    @Test
    void randomOpaqueTokensFromOneAddressStopCostingIntrospectionCalls() {
        Main.Running node = node(Map.of("alimi.limits.failed-auth-per-ip-burst", "10"));
        Http http = new Http(node.port());
        int before = admin.introspections();
        int refusedBeforeLookup = 0;
        for (int i = 0; i < 60; i++) {
            int status = http.get("/v1/timeline", bearer("random-opaque-token-" + i)).status();
            if (status == 429) {
                refusedBeforeLookup++;
            } else {
                assertEquals(401, status);
            }
        }
        assertTrue(admin.introspections() - before <= 11, "calls to the admin service: " + (admin.introspections() - before));
        assertTrue(refusedBeforeLookup >= 49, "refused before any lookup: " + refusedBeforeLookup);
    }

    @Test
    void unknownTokensAreRefusedAndTheRefusalIsCachedBriefly() {
        Main.Running node = node(Map.of("alimi.auth.introspection.negative-ttl", "30s"));
        Http http = new Http(node.port());
        for (int i = 0; i < 5; i++) {
            assertEquals(401, http.get("/v1/poll?wait=0", bearer("opaque-token-unknown-1")).status());
        }
        assertEquals(1, admin.introspections());
    }

    @Test
    void theNodeAuthenticatesToTheAdminServiceWhenConfigured() {
        admin.requireAuthorization("Basic YWxpbWk6c2VjcmV0");
        String token = "opaque-token-client-01";
        admin.activate(token, admin("506", "5"));
        Main.Running without = node(Map.of());
        assertEquals(503, new Http(without.port()).get("/v1/poll?wait=0", bearer(token)).status(),
                "the admin service refusing Alimi is an outage, not an invalid token");
        Main.Running with = node(Map.of("alimi.auth.introspection.authorization", "Basic YWxpbWk6c2VjcmV0"));
        assertEquals(200, new Http(with.port()).get("/v1/poll?wait=0", bearer(token)).status());
    }
}

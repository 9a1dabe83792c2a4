package io.alimi.push;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.Main;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.FcmServer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A push goes only where it belongs now: after a device signs out, moves to another admin, or its admin loses a
 * mall, no push of that scope reaches its token. Asserted on what a real local FCM server received.
 */
class PushAudienceIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SECRET = "push-audience-hs256-secret-0001-xx";
    private static final String PHONE = "phone-audience-" + "q".repeat(80);
    private static final String OTHER = "phone-bystander-" + "r".repeat(80);

    @RegisterExtension
    final Closer closer = new Closer();
    private final FcmServer fcm = closer.add(new FcmServer());

    private Main.Running node(Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(overrides);
        settings.put("alimi.auth.jwt.hs256-secret", SECRET);
        return closer.add(TestNode.start(fcm.pushNode(settings)));
    }

    /** An admin token as the back office would issue it: admin {@code admin} of {@code malls}. */
    private static String token(String admin, List<String> malls) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject(admin)
                    .claim("malls", malls).expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
            jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void register(Main.Running node, String token, String phone) {
        Http.Reply reply = new Http(node.port()).post("/v1/devices", "application/json",
                "{\"token\":\"" + phone + "\",\"platform\":\"android\",\"appVersion\":\"1.0\"}", "Authorization", "Bearer " + token);
        assertEquals(201, reply.status(), reply.body());
    }

    /** Publishes a push to {@code targets} and waits until the push worker is done with it. */
    private static void push(Main.Running node, String id, String targets) {
        new Publisher(node.port()).publishJson("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/orders\","
                + "\"type\":\"order.created\",\"targets\":\"" + targets + "\",\"subject\":\"주문\",\"push\":\"true\"}");
        String queue = node.settings().string("alimi.redis.key-prefix", "alimi:") + "push:{q}";
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            Await.until(WAIT, "push " + id + " dealt with", () -> redis.sync().xlen(queue) == 0);
        }
    }

    /** Pushes FCM accepted for {@code phone}, by event id. */
    private List<String> received(String phone) {
        return fcm.received().stream().filter(r -> r.destination().equals("token:" + phone) && r.answered() == 200)
                .map(r -> r.message().path("data").path("eventId").asText()).toList();
    }

    @Test
    void aDeviceSignedOutGetsNoMorePushesAndLeavesTheTopicsAnOlderVersionSubscribedItTo() {
        Main.Running node = node(Map.of());
        fcm.subscribe(PHONE, "all", "mall-1", "partner-7");   // as versions that sent to topics left it
        register(node, TestNode.ADMIN_42, PHONE);
        assertEquals(List.of(), fcm.subscriptions(PHONE), "registering takes it out of every topic");
        push(node, "before-sign-out", "mall:1");
        assertEquals(List.of("before-sign-out"), received(PHONE));

        assertEquals(204, new Http(node.port()).send(new Http(node.port()).request("/v1/devices/" + PHONE)
                .header("Authorization", "Bearer " + TestNode.ADMIN_42).DELETE().build()).status());
        push(node, "after-sign-out-mall", "mall:1");
        push(node, "after-sign-out-all", "all");
        push(node, "after-sign-out-admin", "admin:42");
        assertEquals(List.of("before-sign-out"), received(PHONE), "nothing after signing out");
        assertTrue(fcm.removals().containsAll(List.of(PHONE + " all", PHONE + " mall-1", PHONE + " partner-7")), fcm.removals().toString());
        assertEquals(List.of(), fcm.problems());
    }

    @Test
    void aPhoneThatMovesToAnotherAdminGetsOnlyTheNewAdminsPushes() {
        Main.Running node = node(Map.of());
        register(node, TestNode.ADMIN_42, PHONE);             // admin 42: mall 1, partner 7
        register(node, TestNode.ADMIN_42, OTHER);
        register(node, TestNode.ADMIN_77, PHONE);             // admin 77: malls 2 and 3
        push(node, "to-mall-1", "mall:1");
        push(node, "to-partner-7", "partner:7");
        push(node, "to-admin-42", "admin:42");
        push(node, "to-mall-2", "mall:2");
        assertEquals(List.of("to-mall-2"), received(PHONE), "the moved phone gets admin 77's malls only");
        assertEquals(List.of("to-mall-1", "to-partner-7", "to-admin-42"), received(OTHER), "admin 42's other phone still gets theirs");
    }

    @Test
    void anAdminWhoLostAMallGetsNoMoreOfItsPushesOnceSeenWithTheirNewEntitlements() {
        Main.Running node = node(Map.of());
        register(node, token("501", List.of("1", "2")), PHONE);
        push(node, "while-entitled", "mall:1");
        assertEquals(List.of("while-entitled"), received(PHONE));

        // Mall 1 is taken away: the admin's next token says malls [2]. Any request with it reconciles.
        String now = token("501", List.of("2"));
        assertEquals(200, new Http(node.port()).get("/v1/timeline/unread-count", "Authorization", "Bearer " + now).status());
        Await.until(WAIT, "the audience of mall 1 without admin 501", () -> !audience(node, "mall:1").contains("501"));
        push(node, "after-revocation", "mall:1");
        push(node, "still-entitled", "mall:2");
        assertEquals(List.of("while-entitled", "still-entitled"), received(PHONE));
    }

    @Test
    void anAdminNotSeenWithinTheEntitlementLeaseGetsTheirOwnPushesButNoLongerTheirMalls() {
        Main.Running node = node(Map.of("alimi.push.entitlement-ttl", "2s"));
        register(node, token("502", List.of("1")), PHONE);
        Instant registered = Instant.now();
        push(node, "leased", "mall:1");
        Await.until(WAIT, "the lease to run out", () -> Instant.now().isAfter(registered.plusMillis(2_200)));
        push(node, "after-lease-mall", "mall:1");
        push(node, "after-lease-admin", "admin:502");
        assertEquals(List.of("leased", "after-lease-admin"), received(PHONE),
                "an admin unseen for the lease keeps their own pushes, not their malls'");

        register(node, token("502", List.of("1")), PHONE);   // the app starts again: seen, entitled
        push(node, "renewed", "mall:1");
        assertEquals(List.of("leased", "after-lease-admin", "renewed"), received(PHONE));
    }

    @Test
    void aDeviceRegisteredByAnOlderVersionGetsItsMallsPushesFromItsAdminsFirstSighting() {
        Main.Running node = node(Map.of());
        String prefix = node.settings().string("alimi.redis.key-prefix", "alimi:");
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            // As versions that pushed to topics stored it: the device, no push audience.
            redis.sync().hset(prefix + "dev:{admin:42}", PHONE, "{\"platform\":\"android\",\"appVersion\":\"1.0\",\"registeredAt\":\""
                    + Instant.now() + "\"}");
        }
        assertEquals(200, new Http(node.port()).get("/v1/timeline/unread-count", "Authorization", "Bearer " + TestNode.ADMIN_42).status());
        Await.until(WAIT, "admin 42 in mall 1's audience", () -> audience(node, "mall:1").contains("42"));
        push(node, "after-upgrade", "mall:1");
        assertEquals(List.of("after-upgrade"), received(PHONE));
    }

    private static List<String> audience(Main.Running node, String scope) {
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            return redis.sync().zrange(node.settings().string("alimi.redis.key-prefix", "alimi:") + "pushto:{" + scope + "}", 0, -1);
        }
    }
}

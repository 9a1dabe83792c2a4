package io.alimi.push;

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

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mobile push through a real local server speaking FCM v1 and OAuth, with real Redis and nodes. */
class PushIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PHONE_A = "phone-a-" + "a".repeat(100);
    private static final String PHONE_B = "phone-b-" + "b".repeat(100);
    private static final String PHONE_C = "phone-c-" + "c".repeat(100);

    @RegisterExtension
    final Closer closer = new Closer();
    private final FcmServer fcm = closer.add(new FcmServer());

    private Main.Running node(String prefix, Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(overrides);
        settings.put("alimi.redis.key-prefix", prefix);
        return closer.add(TestNode.start(fcm.pushNode(settings)));
    }

    private static void register(Main.Running node, String admin, String phone) {
        Http.Reply reply = new Http(node.port()).post("/v1/devices", "application/json",
                "{\"token\":\"" + phone + "\",\"platform\":\"android\",\"appVersion\":\"3.2.0\"}", "Authorization", "Bearer " + admin);
        assertEquals(201, reply.status(), reply.body());
    }

    private static void publish(Main.Running node, String id, String targets, boolean push) {
        new Publisher(node.port()).publishJson("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/orders\","
                + "\"type\":\"order.created\",\"targets\":\"" + targets + "\",\"subject\":\"새 주문 " + id + "\""
                + (push ? ",\"push\":\"true\"" : "") + ",\"data\":{\"orderNo\":\"" + id + "\"}}");
    }

    @Test
    void aPushFlaggedEventReachesEachEntitledDeviceOnceCarryingOnlyWhatALockScreenShows() {
        Main.Running node = node(TestServers.uniquePrefix(), Map.of());
        register(node, TestNode.ADMIN_42, PHONE_A);
        Http.Reply second = new Http(node.port()).post("/v1/devices", "application/json",
                "{\"token\":\"" + PHONE_B + "\",\"platform\":\"ios\",\"appVersion\":\"3.2.0\"}", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals("[\"admin:42\",\"all\",\"mall:1\",\"partner:7\"]", second.json().get("pushes").toString(),
                "the registration says which scopes' pushes the device gets");
        register(node, TestNode.ADMIN_77, PHONE_C);
        assertEquals(List.of(), fcm.subscriptions(PHONE_A), "no device is subscribed to an FCM topic");

        publish(node, "quiet-1", "admin:42", false);
        publish(node, "push-1", "admin:42,mall:1", true);
        publish(node, "push-1", "admin:42,mall:1", true);   // a retried publish: no second push
        Await.until(WAIT, "both phones of admin 42", () -> fcm.delivered("token:" + PHONE_A) == 1
                && fcm.delivered("token:" + PHONE_B) == 1);
        Await.until(WAIT, "the entry done", () -> pending(node) == 0 && queued(node) == 0);
        assertEquals(2, fcm.received().size(), "each phone once though the event names admin 42 and their mall; "
                + "nothing for admin 77 of malls 2 and 3, nothing for the event without push: " + fcm.received());
        FcmServer.Received first = fcm.received().get(0);
        assertEquals("push-1", first.message().path("data").path("eventId").asText());
        assertEquals("order.created", first.message().path("data").path("type").asText());
        assertEquals(List.of("eventId", "type"), fieldNames(first.message().path("data")),
                "no targets, no source, no event data on the lock screen's way");
        assertEquals("새 주문 push-1", first.message().path("notification").path("body").asText());
        assertTrue(first.message().path("topic").isMissingNode(), "never a topic");
        assertEquals(1, fcm.tokenCalls(), "the access token is cached");
        assertEquals(List.of(), fcm.problems());
        String metrics = new Http(node.port()).get("/metrics").body();
        assertTrue(metrics.contains("alimi_push_sent_total 2"), metrics);
    }

    @Test
    void anAdminWhoMutedATypeOnPushGetsNoneOfItExceptCriticalOnesAndThoseToThemselves() {
        Main.Running node = node(TestServers.uniquePrefix(), Map.of());
        register(node, TestNode.ADMIN_42, PHONE_A);
        Http.Reply muted = new Http(node.port()).put("/v1/preferences", "application/json",
                "{\"mutes\":[{\"scope\":\"mall:1\",\"channels\":[\"push\"]}]}", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertEquals(200, muted.status(), muted.body());
        publish(node, "muted-1", "mall:1", true);
        publish(node, "mine-1", "mall:1,admin:42", true);
        new Publisher(node.port()).publishJson("{\"specversion\":\"1.0\",\"id\":\"fds-1\",\"source\":\"/fds\","
                + "\"type\":\"fds.alert.raised\",\"targets\":\"mall:1\",\"subject\":\"이상 거래\",\"push\":\"true\"}");
        Await.until(WAIT, "every entry done", () -> pending(node) == 0 && queued(node) == 0
                && fcm.delivered("token:" + PHONE_A) == 2);
        List<String> pushed = fcm.received().stream().map(r -> r.message().path("data").path("eventId").asText()).sorted().toList();
        assertEquals(List.of("fds-1", "mine-1"), pushed, "the mall's order is muted on push; the critical alert and the "
                + "order to the admin themselves are not");
        String metrics = new Http(node.port()).get("/metrics").body();
        assertTrue(metrics.contains("alimi_push_suppressed_total 1"), metrics);
    }

    private static List<String> fieldNames(com.fasterxml.jackson.databind.JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names.stream().sorted().toList();
    }

    @Test
    void retryAfterFrom429IsHonoured() {
        Main.Running node = node(TestServers.uniquePrefix(), Map.of());
        register(node, TestNode.ADMIN_77, PHONE_A);
        fcm.answer("token:" + PHONE_A, "429:2");
        publish(node, "busy-1", "admin:77", true);
        Await.until(WAIT, "the retry to succeed", () -> fcm.delivered("token:" + PHONE_A) == 1);
        List<FcmServer.Received> attempts = fcm.received();
        assertEquals(2, attempts.size());
        Duration waited = FcmServer.between(attempts.get(0), attempts.get(1));
        assertTrue(waited.compareTo(Duration.ofMillis(1900)) >= 0, "waited " + waited + " for Retry-After: 2");
    }

    @Test
    void unregisteredAndInvalidTokensAreForgotten() {
        Main.Running node = node(TestServers.uniquePrefix(), Map.of());
        register(node, TestNode.ADMIN_77, PHONE_A);
        register(node, TestNode.ADMIN_77, PHONE_B);
        fcm.answer("token:" + PHONE_A, "404:UNREGISTERED");
        fcm.answer("token:" + PHONE_B, "400:INVALID_ARGUMENT");
        publish(node, "stale-1", "admin:77", true);
        Await.until(WAIT, "both tokens forgotten", () -> new Http(node.port())
                .get("/v1/devices", "Authorization", "Bearer " + TestNode.ADMIN_77).json().get("devices").isEmpty());
        Await.until(WAIT, "the entry acknowledged", () -> pending(node) == 0);
        assertEquals(0, deadLetters(node), "a gone token is not a failure");
    }

    @Test
    void aDestinationStillFailingAfterTheLastRetryIsDeadLetteredNotLost() {
        Main.Running node = node(TestServers.uniquePrefix(), Map.of("alimi.push.max-attempts", "3"));
        register(node, TestNode.ADMIN_77, PHONE_A);
        register(node, TestNode.ADMIN_77, PHONE_B);
        fcm.answer("token:" + PHONE_A, "503", "503", "503");
        publish(node, "down-1", "admin:77,mall:2", true);
        Await.until(WAIT, "the dead letter", () -> deadLetters(node) == 1);
        assertEquals(1, fcm.delivered("token:" + PHONE_B), "the other destination was sent");
        assertEquals(3, fcm.received().stream().filter(r -> r.destination().equals("token:" + PHONE_A)).count());
        Await.until(WAIT, "the entry acknowledged", () -> pending(node) == 0);

        // FCM is back: the operator replays the dead letters with the shipped script, and the phone gets it.
        String prefix = node.settings().string("alimi.redis.key-prefix", "alimi:");
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            String script = java.nio.file.Files.readString(java.nio.file.Path.of("redis/lua/push_replay.lua"));
            Long replayed = redis.sync().eval(script, io.lettuce.core.ScriptOutputType.INTEGER,
                    new String[] {prefix + "push:{q}:dlq", prefix + "push:{q}"}, "all");
            assertEquals(1L, replayed);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Await.until(WAIT, "the replayed push to arrive", () -> fcm.delivered("token:" + PHONE_A) == 1);
        Await.until(WAIT, "the replay acknowledged", () -> pending(node) == 0);
        assertEquals(0, deadLetters(node));
        assertEquals(1, fcm.delivered("token:" + PHONE_B), "only what failed is sent again");
    }

    @Test
    void aWorkerKilledMidSendLeavesTheMessageToAnotherWorker() {
        String prefix = TestServers.uniquePrefix();
        Main.Running first = node(prefix, Map.of("alimi.push.claim-idle", "1s"));
        register(first, TestNode.ADMIN_77, PHONE_A);
        fcm.answer("token:" + PHONE_A, "hold");
        publish(first, "crash-1", "admin:77", true);
        Await.until(WAIT, "the first worker to be sending", () -> fcm.arrived() == 1);
        first.close();   // the worker dies with the message in flight, unacknowledged
        fcm.releaseHeld();

        Main.Running second = node(prefix, Map.of("alimi.push.claim-idle", "1s"));
        Await.until(WAIT, "the second worker to send it", () -> fcm.delivered("token:" + PHONE_A) == 1);
        assertEquals(0, fcm.received().stream().filter(r -> r.answered() == 200 && r.destination().equals("token:" + PHONE_A))
                .count() - 1, "sent once, by the second worker");
        Await.until(WAIT, "the entry acknowledged", () -> pending(second) == 0);
        assertEquals(0, deadLetters(second));
    }

    private static long queued(Main.Running node) {
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            return redis.sync().xlen(node.settings().string("alimi.redis.key-prefix", "alimi:") + "push:{q}");
        }
    }

    private static long pending(Main.Running node) {
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            String queue = node.settings().string("alimi.redis.key-prefix", "alimi:") + "push:{q}";
            return redis.sync().xpending(queue, PushWorker.GROUP).getCount();
        }
    }

    private static long deadLetters(Main.Running node) {
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            return redis.sync().xlen(node.settings().string("alimi.redis.key-prefix", "alimi:") + "push:{q}:dlq");
        }
    }
}

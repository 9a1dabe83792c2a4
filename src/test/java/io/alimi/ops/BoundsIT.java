package io.alimi.ops;

import io.alimi.Main;
import io.alimi.push.PushWorker;
import io.alimi.support.Await;
import io.alimi.support.Closer;
import io.alimi.support.FcmServer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.lettuce.core.Consumer;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Nothing Alimi writes to Redis grows without bound, whatever the roles running: each key family's bound (docs/
 * OPERATIONS.md, "What Alimi keeps in Redis") observed on real Redis, and a census that fails on any key of a
 * family with no bound.
 */
class BoundsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String PHONE = "phone-bounds-" + "p".repeat(90);

    @RegisterExtension
    final Closer closer = new Closer();
    private final FcmServer fcm = closer.add(new FcmServer());
    private final RedisClient client = RedisClient.create(TestServers.redis().url());
    private final StatefulRedisConnection<String, String> connection = client.connect();
    private final RedisCommands<String, String> redis = connection.sync();

    @AfterEach
    void closeRedis() {
        connection.close();
        client.shutdown();
    }

    private Main.Running pushNode(String prefix, Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(Map.of("alimi.redis.key-prefix", prefix, "alimi.push.claim-idle", "100ms"));
        settings.putAll(overrides);
        return closer.add(TestNode.start(fcm.pushNode(settings)));
    }

    private static String pushEvent(String id, String targets) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/orders\",\"type\":\"order.created\","
                + "\"targets\":\"" + targets + "\",\"subject\":\"주문 " + id + "\",\"push\":\"true\",\"data\":{}}";
    }

    /** Publishes {@code count} push-flagged events in batches; every 50th to admin 42 (who has a phone), the others to admin 99. */
    private static void publishPushes(Main.Running node, String prefix, int count) {
        Publisher publisher = new Publisher(node.port());
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batch.add(pushEvent(prefix + i, i % 50 == 0 ? "admin:42" : "admin:99"));
            if (batch.size() == 500 || i == count - 1) {
                publisher.publishAll(batch);
                batch.clear();
            }
        }
    }

    private static void register(Main.Running node, String token, String phone) {
        Http.Reply reply = new Http(node.port()).post("/v1/devices", "application/json",
                "{\"token\":\"" + phone + "\",\"platform\":\"android\",\"appVersion\":\"1.0\"}", "Authorization", "Bearer " + token);
        assertEquals(201, reply.status(), reply.body());
    }

    private static String metrics(Main.Running node) {
        return new Http(node.port()).get("/metrics").body();
    }

    @Test
    void withNoPushWorkerThePushStreamStaysAtItsCapCountsWhatItDroppedAndANodeStartingSaysSo() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = closer.add(TestNode.start(Map.of("alimi.redis.key-prefix", prefix,
                "alimi.push.queue-max-length", "1000")));
        publishPushes(node, "nobody-", 10_000);

        assertEquals(1000, redis.xlen(prefix + "push:{q}"), "the push stream at its cap");
        assertEquals("9000", redis.get(prefix + "push:{q}:dropped"), "what the cap dropped, counted");
        assertEquals(10_000 - 10_000 / 50, redis.xlen(prefix + "tl:{admin:99}"), "every event is on its timeline all the same");
        List<StreamMessage<String, String>> oldest = redis.xrange(prefix + "push:{q}", io.lettuce.core.Range.create("-", "+"),
                io.lettuce.core.Limit.from(1));
        assertEquals("nobody-9000", oldest.get(0).getBody().get("id"), "the oldest were dropped, the newest kept");
        String metrics = metrics(node);
        assertTrue(metrics.contains("alimi_push_queue_entries 1000"), metrics);
        assertTrue(metrics.contains("alimi_push_queue_dropped_total 9000"), metrics);

        List<String> warnings = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                synchronized (warnings) {
                    warnings.add(record.getLevel() + " " + record.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger queue = Logger.getLogger(io.alimi.push.PushQueue.class.getName());
        queue.addHandler(handler);
        try {
            closer.add(TestNode.start(Map.of("alimi.redis.key-prefix", prefix, "alimi.push.queue-max-length", "1000")));
        } finally {
            queue.removeHandler(handler);
        }
        synchronized (warnings) {
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("WARNING 1000 push-flagged events are queued in "
                    + prefix + "push:{q} and this node has no push credentials") && w.contains("9000 so far")), warnings.toString());
        }
    }

    @Test
    void aPushWorkerLeavesNothingItHasDealtWithInThePushStream() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = pushNode(prefix, Map.of());
        register(node, TestNode.ADMIN_42, PHONE);
        publishPushes(node, "done-", 10_000);

        Await.until(WAIT, "every push dealt with", () -> redis.xlen(prefix + "push:{q}") == 0
                && redis.xpending(prefix + "push:{q}", PushWorker.GROUP).getCount() == 0);
        assertEquals(200, fcm.delivered("token:" + PHONE), "admin 42's pushes reached the phone");
        assertEquals(List.of(), keys(prefix + "push:{q}:sent:*"), "what entries reached is forgotten with them");
        assertTrue(metrics(node).contains("alimi_push_queue_entries 0"));
    }

    @Test
    void acknowledgedEntriesLeftBehindAndTheConsumersOfNodesGoneAreSwept() {
        String prefix = TestServers.uniquePrefix();
        String queue = prefix + "push:{q}";
        // As an older version left it: 50 entries read and acknowledged but never deleted, by a node gone since.
        redis.xgroupCreate(XReadArgs.StreamOffset.from(queue, "0"), PushWorker.GROUP, XGroupCreateArgs.Builder.mkstream());
        for (int i = 0; i < 50; i++) {
            redis.xadd(queue, Map.of("id", "old-" + i, "event", pushEvent("old-" + i, "admin:99")));
        }
        List<StreamMessage<String, String>> read = redis.xreadgroup(Consumer.from(PushWorker.GROUP, "worker-gone"),
                XReadArgs.Builder.count(100), XReadArgs.StreamOffset.lastConsumed(queue));
        redis.xack(queue, PushWorker.GROUP, read.stream().map(StreamMessage::getId).toArray(String[]::new));
        assertEquals(50, redis.xlen(queue));

        pushNode(prefix, Map.of());
        Await.until(WAIT, "the acknowledged leftovers deleted", () -> redis.xlen(queue) == 0);
        Await.until(WAIT, "the gone node's consumer deleted", () -> redis.xinfoConsumers(queue, PushWorker.GROUP)
                .stream().noneMatch(consumer -> consumer.toString().contains("worker-gone")));
    }

    @Test
    void deadLettersStayAtTheirCap() {
        String prefix = TestServers.uniquePrefix();
        // One push at a time: with several, entries fail (and are dead-lettered) in any order.
        Main.Running node = pushNode(prefix, Map.of("alimi.push.max-attempts", "1", "alimi.push.dead-letter-max-length", "5",
                "alimi.push.concurrency", "1"));
        register(node, TestNode.ADMIN_42, PHONE);
        String[] failures = new String[20];
        java.util.Arrays.fill(failures, "503");
        fcm.answer("token:" + PHONE, failures);
        Publisher publisher = new Publisher(node.port());
        for (int i = 0; i < 20; i++) {
            publisher.publishJson(pushEvent("dead-" + i, "admin:42"));
        }
        Await.until(WAIT, "every push dead-lettered", () -> fcm.arrived() == 20 && redis.xlen(prefix + "push:{q}") == 0);
        assertEquals(5, redis.xlen(prefix + "push:{q}:dlq"), "the dead letters at their cap");
        List<StreamMessage<String, String>> kept = redis.xrange(prefix + "push:{q}:dlq", io.lettuce.core.Range.create("-", "+"));
        assertEquals("dead-15", kept.get(0).getBody().get("id"), "the newest kept");
        assertTrue(metrics(node).contains("alimi_push_dead_letters 5"));
    }

    @Test
    void anAdminKeepsAtMostTheirDeviceCapAndADeviceNotSeenWithinItsTimeToLiveIsForgotten() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = pushNode(prefix, Map.of("alimi.push.max-devices-per-admin", "3", "alimi.push.device-ttl", "30d"));
        for (int i = 0; i < 5; i++) {
            register(node, TestNode.ADMIN_42, "phone-" + i + "-" + "x".repeat(40));
        }
        List<String> listed = new ArrayList<>();
        new Http(node.port()).get("/v1/devices", "Authorization", "Bearer " + TestNode.ADMIN_42).json().get("devices")
                .forEach(device -> listed.add(device.get("token").asText().substring(0, 7)));
        assertEquals(List.of("phone-2", "phone-3", "phone-4"), listed.stream().sorted().toList(), "the three newest kept");
        assertEquals(3, keys(prefix + "devown:*").size(), "the forgotten devices' owner keys are gone too");
        long ttl = redis.ttl(prefix + "dev:{admin:42}");
        assertTrue(ttl > Duration.ofDays(29).toSeconds() && ttl <= Duration.ofDays(30).toSeconds(), "device keys expire: " + ttl);

        // A device registered 31 days ago (its keys kept alive by newer devices of the same admin) is forgotten.
        redis.hset(prefix + "dev:{admin:42}", "phone-stale", "{\"platform\":\"ios\",\"appVersion\":\"1\",\"registeredAt\":\""
                + Instant.now().minus(Duration.ofDays(31)) + "\"}");
        Http.Reply devices = new Http(node.port()).get("/v1/devices", "Authorization", "Bearer " + TestNode.ADMIN_42);
        assertTrue(!devices.body().contains("phone-stale"), devices.body());
        assertEquals(3L, redis.hlen(prefix + "dev:{admin:42}"));
    }

    /** What every key family of Alimi's may hold: a time-to-live up to a bound, or a size up to a bound. */
    private record Bound(Pattern family, Duration maxTtl, long maxSize) {
        static Bound expiring(String family, Duration maxTtl) {
            return new Bound(Pattern.compile(family), maxTtl, Long.MAX_VALUE);
        }

        static Bound sized(String family, long maxSize) {
            return new Bound(Pattern.compile(family), null, maxSize);
        }
    }

    @Test
    void everyKeyAlimiWritesBelongsToAFamilyWithABoundAndKeepsIt() {
        String prefix = TestServers.uniquePrefix();
        Main.Running node = pushNode(prefix, Map.of("alimi.timeline.max-length", "100", "alimi.push.queue-max-length", "500",
                "alimi.push.max-devices-per-admin", "3",
                // Storage bounds, not rates: 1,100 read marks in a few seconds are what the read-marks rate refuses.
                "alimi.limits.read-marks-per-admin", "off"));
        Http http = new Http(node.port());
        for (int i = 0; i < 6; i++) {
            register(node, TestNode.ADMIN_42, "census-phone-" + i + "-" + "c".repeat(30));
        }
        Publisher publisher = new Publisher(node.port());
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            batch.add(pushEvent("census-" + i, "admin:42,mall:1,partner:7,all"));
        }
        publisher.publishAll(batch);
        for (int i = 0; i < 1_100; i++) {
            assertEquals(200, http.post("/v1/timeline/read", "application/json", "{\"eventId\":\"census-" + (i % 150) + "-" + i + "\"}",
                    "Authorization", "Bearer " + TestNode.ADMIN_42).status());
        }
        http.post("/v1/timeline/read", "application/json", "{\"upTo\":\"latest\"}", "Authorization", "Bearer " + TestNode.ADMIN_77);
        for (int i = 0; i < 3; i++) {
            assertEquals(200, http.post("/v1/tickets", null, "", "Authorization", "Bearer " + TestNode.ADMIN_42).status());
        }
        Await.until(WAIT, "pushes dealt with", () -> redis.xlen(prefix + "push:{q}") == 0);

        Duration dedup = Duration.ofHours(24);
        List<Bound> bounds = List.of(
                Bound.sized("tl:\\{[^}]+\\}", 100 + 2),                 // a timeline: max-length (+1 % batch slack, at least 1)
                Bound.sized("tl:\\{[^}]+\\}:meta", 8),                  // its meta hash: a fixed set of fields
                Bound.expiring("tl:\\{[^}]+\\}:(sid|ev):.+", dedup),    // dedup keys: dedup-ttl
                Bound.expiring("ticket:[A-Za-z0-9_-]+", Duration.ofSeconds(30)),    // tickets: ticket-ttl
                Bound.expiring("rd:\\{admin:[^}]+\\}", Duration.ofDays(30)),   // read marker: max-age
                Bound.expiring("rd:\\{admin:[^}]+\\}:ids", Duration.ofDays(30)),
                Bound.expiring("fs:[0-9a-f]+", dedup),                         // followed sets: dedup-ttl
                Bound.expiring("export:.+", Duration.ofHours(1)),              // demo exports
                Bound.expiring("dev:\\{admin:[^}]+\\}", Duration.ofDays(60)),   // devices: device-ttl, and at most 3 here
                Bound.expiring("devown:[0-9a-f]+", Duration.ofDays(60)),
                Bound.expiring("pushto:\\{[^}]+\\}", Duration.ofDays(7)),     // push audiences: entitlement-ttl
                Bound.expiring("pushof:\\{admin:[^}]+\\}", Duration.ofDays(60)), // an admin's enrolment: device-ttl
                Bound.sized("push:\\{q\\}", 500),                              // push work: queue-max-length
                Bound.sized("push:\\{q\\}:dropped", 1),
                Bound.expiring("push:\\{q\\}:(sid|ev):.+", dedup),
                Bound.sized("push:\\{q\\}:dlq", 10_000),                       // dead letters: dead-letter-max-length
                Bound.expiring("push:\\{q\\}:sent:.+", Duration.ofDays(1)));
        Map<String, Integer> census = new TreeMap<>();
        for (String key : keys(prefix + "*")) {
            String name = key.substring(prefix.length());
            Bound bound = bounds.stream().filter(b -> b.family().matcher(name).matches()).findFirst()
                    .orElseGet(() -> fail("key " + key + " belongs to no family with a documented bound"));
            census.merge(bound.family().pattern(), 1, Integer::sum);
            long size = size(key);
            assertTrue(size <= bound.maxSize(), key + " holds " + size + ", above its bound " + bound.maxSize());
            if (bound.maxTtl() != null) {
                long ttl = redis.pttl(key);
                assertTrue(ttl > 0 && ttl <= bound.maxTtl().toMillis(), key + " must expire within " + bound.maxTtl() + ": pttl " + ttl);
            }
        }
        assertTrue(census.keySet().containsAll(List.of("tl:\\{[^}]+\\}", "rd:\\{admin:[^}]+\\}:ids", "ticket:[A-Za-z0-9_-]+",
                "dev:\\{admin:[^}]+\\}", "push:\\{q\\}")), "the workload touched the families it meant to: " + census);
        assertEquals(3L, redis.hlen(prefix + "dev:{admin:42}"));
        assertEquals(1000L, redis.zcard(prefix + "rd:{admin:42}:ids"), "one-by-one reads at their cap");
    }

    private long size(String key) {
        return switch (redis.type(key)) {
            case "stream" -> redis.xlen(key);
            case "hash" -> redis.hlen(key);
            case "zset" -> redis.zcard(key);
            case "set" -> redis.scard(key);
            case "list" -> redis.llen(key);
            default -> 1;
        };
    }

    private List<String> keys(String pattern) {
        List<String> found = new ArrayList<>();
        KeyScanCursor<String> cursor = redis.scan(KeyScanArgs.Builder.matches(pattern).limit(1000));
        while (true) {
            found.addAll(cursor.getKeys());
            if (cursor.isFinished()) {
                return found;
            }
            cursor = redis.scan(ScanCursor.of(cursor.getCursor()), KeyScanArgs.Builder.matches(pattern).limit(1000));
        }
    }
}

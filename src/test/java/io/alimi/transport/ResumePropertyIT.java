package io.alimi.transport;

import io.alimi.Main;
import io.alimi.support.Events;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Random publishes to random scopes while clients disconnect at random moments and reconnect, each time to a
 * random one of two nodes, with the last id they received: every client gets every event of its scopes exactly
 * once, and the events of each scope that reach it through that scope alone in that scope's order.
 */
class ResumePropertyIT {

    private static final List<String> POOL = List.of("all", "mall:1", "mall:2", "mall:3", "admin:42", "admin:77", "partner:7", "mall:4");
    private static final int EVENTS = 300;
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    /** A client: whose token, which scopes it follows. */
    private record Spec(String token, String query, Set<String> scopes) {
    }

    private static final List<Spec> CLIENTS = List.of(
            new Spec(TestNode.ADMIN_42, "", Set.of("all", "mall:1", "admin:42", "partner:7")),
            new Spec(TestNode.ADMIN_42, "scopes=mall:1,partner:7", Set.of("mall:1", "partner:7")),
            new Spec(TestNode.ADMIN_42, "scopes=admin:42", Set.of("admin:42")),
            new Spec(TestNode.ADMIN_77, "", Set.of("all", "mall:2", "mall:3", "admin:77")),
            new Spec(TestNode.ADMIN_77, "scopes=mall:3", Set.of("mall:3")),
            new Spec(TestNode.ADMIN_77, "scopes=all,admin:77", Set.of("all", "admin:77")));

    @Test
    void everyClientGetsEveryEventOfItsScopesExactlyOnceAcrossRandomReconnectsAndNodes() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String context = "seed " + seed;
        Map<String, String> shared = Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix());
        try (Main.Running a = TestNode.start(shared); Main.Running b = TestNode.start(shared)) {
            List<Main.Running> nodes = List.of(a, b);
            List<String> firstCursors = new ArrayList<>();
            for (Spec spec : CLIENTS) {
                try (SseClient client = SseClient.connect(a.port(), spec.token(), spec.query(), null)) {
                    client.next(Duration.ofSeconds(10));
                    firstCursors.add(client.lastEventId());
                }
            }

            // Published: event id -> its targets, in publish order.
            Map<String, List<String>> published = new ConcurrentHashMap<>();
            List<String> order = new CopyOnWriteArrayList<>();
            List<List<String>> received = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            AtomicBoolean publishing = new AtomicBoolean(true);
            // A reader's failure (an unexpected gap, an assertion) is this test's failure, not a lost thread.
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            for (int c = 0; c < CLIENTS.size(); c++) {
                List<String> got = new CopyOnWriteArrayList<>();
                received.add(got);
                Spec spec = CLIENTS.get(c);
                String start = firstCursors.get(c);
                long clientSeed = random.nextLong();
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        read(spec, start, got, nodes, new Random(clientSeed), published, order, publishing);
                    } catch (Throwable failure) {
                        failures.add(failure);
                    }
                }));
            }

            Publisher publisher = new Publisher(b.port());
            int n = 0;
            while (n < EVENTS) {
                int batch = 1 + random.nextInt(4);
                List<String> jsons = new ArrayList<>();
                for (int i = 0; i < batch && n < EVENTS; i++, n++) {
                    Set<String> targets = new LinkedHashSet<>();
                    int count = 1 + random.nextInt(3);
                    while (targets.size() < count) {
                        targets.add(POOL.get(random.nextInt(POOL.size())));
                    }
                    String id = "p-" + n;
                    published.put(id, List.copyOf(targets));
                    order.add(id);
                    jsons.add(Events.json(id, String.join(",", targets)));
                }
                publisher.publishAll(jsons);
            }
            publishing.set(false);
            for (Thread reader : readers) {
                reader.join(DEADLINE.toMillis());
                assertFalse(reader.isAlive(), context + ": a reader did not finish within " + DEADLINE);
            }
            if (!failures.isEmpty()) {
                AssertionError failed = new AssertionError(context + ": a reader failed: " + failures.peek(), failures.peek());
                failures.stream().skip(1).forEach(failed::addSuppressed);
                throw failed;
            }

            for (int c = 0; c < CLIENTS.size(); c++) {
                Spec spec = CLIENTS.get(c);
                List<String> got = received.get(c);
                List<String> expected = order.stream().filter(id -> published.get(id).stream().anyMatch(spec.scopes()::contains)).toList();
                assertEquals(new HashSet<>(got).size(), got.size(), context + ": client " + c + " got a duplicate: " + got);
                assertEquals(new HashSet<>(expected), new HashSet<>(got), context + ": client " + c + " missed or got extra events");
                for (String scope : spec.scopes()) {
                    List<Integer> viaScopeAlone = got.stream()
                            .filter(id -> published.get(id).stream().filter(spec.scopes()::contains).toList().equals(List.of(scope)))
                            .map(order::indexOf).toList();
                    List<Integer> sorted = viaScopeAlone.stream().sorted().toList();
                    assertEquals(sorted, viaScopeAlone, context + ": client " + c + " got " + scope + "'s events out of order");
                }
            }
        }
    }

    /** Connects, reads a random number of events, drops the connection, and again, until everything came. */
    private static void read(Spec spec, String start, List<String> got, List<Main.Running> nodes, Random random,
                             Map<String, List<String>> published, List<String> order, AtomicBoolean publishing) {
        String cursor = start;
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            Main.Running node = nodes.get(random.nextInt(nodes.size()));
            try (SseClient client = SseClient.connect(node.port(), spec.token(), spec.query(), cursor)) {
                int toRead = random.nextInt(25);
                for (int i = 0; i < toRead; i++) {
                    SseClient.Event event;
                    try {
                        event = client.nextExcept(Duration.ofMillis(1500), "ready");
                    } catch (AssertionError quiet) {
                        break;
                    }
                    if (event.type().equals("gap")) {
                        throw new AssertionError("unexpected gap: " + event.data());
                    }
                    got.add(event.json().get("id").asText());
                    cursor = event.id();
                }
            }
            if (!publishing.get()) {
                long expected = order.stream().filter(id -> published.get(id).stream().anyMatch(spec.scopes()::contains)).count();
                if (got.size() >= expected) {
                    return;
                }
            }
        }
    }
}

package io.alimi.security;

import io.alimi.Main;
import io.alimi.event.Scope;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many malls, admins and partners; events to random targets (including scopes nobody follows); every admin
 * streaming over SSE or WebSocket, some narrowed to a random subset of their scopes, through the real relay and
 * Redis: no admin ever receives an event outside its scopes, and each receives every event of its own.
 */
class TenantIsolationPropertyIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int MALLS = 12;
    private static final int PARTNERS = 5;
    private static final int ADMINS = 40;
    private static final int EVENTS = 400;

    @RegisterExtension
    final Closer closer = new Closer();

    private record Admin(String token, String adminNo, Set<String> malls, String partner, Set<Scope> followed) {
    }

    @Test
    void noAdminEverReceivesAnEventOutsideItsScopesAndEachReceivesAllOfItsOwn() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String context = "seed " + seed;

        List<Admin> admins = new ArrayList<>();
        StringBuilder tokens = new StringBuilder("{");
        for (int i = 0; i < ADMINS; i++) {
            Set<String> malls = new TreeSet<>();
            int count = random.nextInt(4);
            for (int m = 0; m < count; m++) {
                malls.add(Integer.toString(1 + random.nextInt(MALLS)));
            }
            String partner = random.nextInt(3) == 0 ? "p" + random.nextInt(PARTNERS) : null;
            String adminNo = "a" + i;
            Set<Scope> entitled = new LinkedHashSet<>();
            entitled.add(Scope.ALL);
            entitled.add(Scope.admin(adminNo));
            malls.forEach(mall -> entitled.add(Scope.mall(mall)));
            if (partner != null) {
                entitled.add(Scope.partner(partner));
            }
            Set<Scope> followed = entitled;
            if (random.nextInt(3) == 0) {
                List<Scope> some = new ArrayList<>(entitled);
                java.util.Collections.shuffle(some, random);
                followed = new LinkedHashSet<>(some.subList(0, 1 + random.nextInt(some.size())));
            }
            String token = "isolation-token-" + i + "-" + Long.toHexString(random.nextLong());
            admins.add(new Admin(token, adminNo, malls, partner, followed));
            tokens.append(i == 0 ? "" : ",").append('"').append(token).append("\":{\"adminNo\":\"").append(adminNo)
                    .append("\",\"malls\":[").append(String.join(",", malls.stream().map(m -> "\"" + m + "\"").toList()))
                    .append("]").append(partner == null ? "" : ",\"partner\":\"" + partner + "\"").append("}");
        }
        tokens.append("}");
        Path file = Files.createTempFile("alimi-isolation-", ".json");
        file.toFile().deleteOnExit();
        Files.writeString(file, tokens);
        Main.Running node = closer.add(TestNode.start(Map.of("alimi.auth.dev-tokens-file", file.toString())));

        Map<String, Set<String>> received = new ConcurrentHashMap<>();
        Map<String, AutoCloseable> clients = new HashMap<>();
        for (Admin admin : admins) {
            received.put(admin.adminNo(), ConcurrentHashMap.newKeySet());
            String scopes = "scopes=" + String.join(",", admin.followed().stream().map(Scope::toString).toList());
            if (random.nextBoolean()) {
                SseClient client = closer.add(SseClient.connect(node.port(), admin.token(), scopes, null));
                assertEquals("ready", client.next(WAIT).type(), context);
                clients.put(admin.adminNo(), client);
            } else {
                WsClient client = closer.add(WsClient.as(node.port(), admin.token(), scopes));
                assertEquals("ready", client.next(WAIT).get("op").asText(), context);
                clients.put(admin.adminNo(), client);
            }
        }

        List<Scope> universe = new ArrayList<>();
        universe.add(Scope.ALL);
        for (int m = 1; m <= MALLS + 2; m++) {
            universe.add(Scope.mall(Integer.toString(m)));
        }
        for (int p = 0; p < PARTNERS + 1; p++) {
            universe.add(Scope.partner("p" + p));
        }
        for (int a = 0; a < ADMINS + 2; a++) {
            universe.add(Scope.admin("a" + a));
        }
        Map<String, Set<Scope>> targetsOf = new HashMap<>();
        List<String> batch = new ArrayList<>();
        Publisher publisher = new Publisher(node.port());
        for (int e = 0; e < EVENTS; e++) {
            Set<Scope> targets = new LinkedHashSet<>();
            int count = 1 + random.nextInt(3);
            for (int t = 0; t < count; t++) {
                // "all" rarely, so most events are for somebody in particular
                Scope scope = universe.get(random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(universe.size() - 1));
                targets.add(scope);
            }
            String id = "iso-" + e;
            targetsOf.put(id, targets);
            batch.add(Events.json(id, String.join(",", targets.stream().map(Scope::toString).toList())));
            if (batch.size() == 50) {
                publisher.publishAll(batch);
                batch.clear();
            }
        }

        Map<String, Set<String>> expected = new HashMap<>();
        for (Admin admin : admins) {
            Set<String> mine = new TreeSet<>();
            targetsOf.forEach((id, targets) -> {
                if (targets.stream().anyMatch(admin.followed()::contains)) {
                    mine.add(id);
                }
            });
            expected.put(admin.adminNo(), mine);
        }
        // Then a marker per admin, to one of its own scopes: once it has arrived (and a little after, for events of
        // other scopes read in the same batch) anything wrongly routed would have arrived too.
        for (Admin admin : admins) {
            publisher.publish("iso-marker-" + admin.adminNo(), admin.followed().iterator().next().toString());
        }
        List<Thread> readers = new ArrayList<>();
        for (Admin admin : admins) {
            Set<String> got = received.get(admin.adminNo());
            String marker = "iso-marker-" + admin.adminNo();
            AutoCloseable client = clients.get(admin.adminNo());
            readers.add(Thread.ofVirtual().start(() -> read(client, got, marker)));
        }
        for (Thread reader : readers) {
            try {
                reader.join(WAIT.toMillis() * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Admin admin : admins) {
            Set<String> got = received.get(admin.adminNo());
            Set<String> extra = new TreeSet<>(got);
            extra.removeAll(expected.get(admin.adminNo()));
            extra.removeIf(id -> id.startsWith("iso-marker-"));
            assertTrue(extra.isEmpty(), context + ": admin " + admin.adminNo() + " following " + admin.followed()
                    + " received events not for it: " + extra);
            Set<String> missing = new TreeSet<>(expected.get(admin.adminNo()));
            missing.removeAll(got);
            assertTrue(missing.isEmpty(), context + ": admin " + admin.adminNo() + " missed " + missing);
            assertTrue(got.contains("iso-marker-" + admin.adminNo()), context + ": admin " + admin.adminNo() + " got no marker");
        }
    }

    /** Collects event ids until the marker has arrived and nothing more comes for half a second. */
    private static void read(AutoCloseable client, Set<String> got, String marker) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Duration wait = Duration.ofMillis(got.contains(marker) ? 500 : 2_000);
            String id;
            try {
                id = client instanceof SseClient sse ? eventId(sse.next(wait)) : eventId(((WsClient) client).next(wait));
            } catch (AssertionError quiet) {
                if (got.contains(marker)) {
                    return;
                }
                continue;
            }
            if (id != null) {
                got.add(id);
            }
        }
    }

    private static String eventId(SseClient.Event event) {
        return "ready".equals(event.type()) || "reconnect".equals(event.type()) || "gap".equals(event.type())
                || event.data() == null || !event.data().startsWith("{") ? null : event.json().path("id").asText(null);
    }

    private static String eventId(com.fasterxml.jackson.databind.JsonNode frame) {
        return frame.has("event") ? frame.get("event").get("id").asText() : null;
    }
}

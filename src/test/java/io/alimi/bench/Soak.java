package io.alimi.bench;

import io.alimi.support.FcmServer;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Weeks of uptime, compressed: an Alimi node (the production jar, its own process, roles relay and push) under a
 * steady back-office load for {@code --minutes} (60): {@code --connections} SSE streams (5,000) of 1,000 admins,
 * {@code --rate} events per second (20) to mixed scopes (a mall, an admin, a mall and an admin, now and then
 * everyone), one in ten push-flagged to admins with a phone (the tests' local FCM server, in this JVM), and every
 * minute {@code --churn} of the streams (5 %) closed and opened anew. Retention is set so that every bound is
 * reached within the run (timelines of 50 entries, dedup keys kept 10 minutes): what grows after that is a leak.
 *
 * <p>Every minute: the node's live heap after a full GC, its RSS, threads and open files, and Redis
 * {@code used_memory}. At the end: per figure, the mean of the last ten minutes against that of minutes 31–40
 * (a plateau: no more than 5 % up, or a small absolute amount), and losses: every stream that stayed open must
 * have received exactly the events of its admin's scopes, and every push must have reached its phone.
 */
public final class Soak {

    private static final String API_KEY = "bench-publisher-key-0001";
    private static final int ADMINS = 1_000;
    private static final int MALLS = 100;
    /** Admins 0 to 99 are those events target directly (so their timelines reach the cap within the run). */
    private static final int TARGETED_ADMINS = 100;
    /** Admins 0 to 199 have a phone. */
    private static final int PHONES = 200;

    private final int minutes;
    private final int connections;
    private final int rate;
    private final double churn;
    private final String javaHome = System.getProperty("java.home");

    private Soak(Map<String, String> options) {
        minutes = Integer.parseInt(options.getOrDefault("--minutes", "60"));
        connections = Integer.parseInt(options.getOrDefault("--connections", "5000"));
        rate = Integer.parseInt(options.getOrDefault("--rate", "20"));
        churn = Double.parseDouble(options.getOrDefault("--churn", "0.05"));
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/soak [--minutes M] [--connections N] [--rate R] [--churn F]
                    Defaults: 60 minutes, 5000 SSE connections, 20 events/s, 5 % of the streams reopened every minute.
                    Stops by itself; prints a line a minute, then the plateau and loss verdicts.""");
            return;
        }
        System.exit(new Soak(BenchOptions.parse(args)).run() ? 0 : 1);
    }

    private boolean run() throws Exception {
        Path work = Files.createTempDirectory("alimi-soak-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
        Path tokens = work.resolve("tokens.json");
        writeTokens(tokens);
        RedisProcess redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--save", ""));
        try (FcmServer fcm = new FcmServer();
             RedisClient redisClient = RedisClient.create(redis.url());
             StatefulRedisConnection<String, String> info = redisClient.connect()) {
            int port = Ports.free();
            Process node = startNode(port, tokens, fcm, redis, work.resolve("node.log"));
            try {
                return soak(port, node, fcm, info);
            } finally {
                NodeProcess.stop(node);
            }
        } finally {
            redis.stop();
        }
    }

    private boolean soak(int port, Process node, FcmServer fcm, StatefulRedisConnection<String, String> info) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int admin = 0; admin < PHONES; admin++) {
            HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/devices"))
                    .header("Authorization", "Bearer " + token(admin)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"soak-phone-" + admin + "-" + "s".repeat(40)
                            + "\",\"platform\":\"android\",\"appVersion\":\"1.0\"}")).build(), HttpResponse.BodyHandlers.ofString());
            if (reply.statusCode() != 201) {
                throw new IllegalStateException("device registration: " + reply.statusCode() + " " + reply.body());
            }
        }
        int churning = (int) Math.round(connections * churn);
        int stable = connections - churning;
        AtomicLongArray expected = new AtomicLongArray(ADMINS);
        long[] pushes = new long[1];
        long[] published = new long[1];
        String[] sources = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
        System.out.printf(Locale.ROOT, "# Alimi soak, %s, %d cores, Java %s: %,d SSE streams (%,d reopened every minute), "
                        + "%d events/s, %d minutes%n", LocalDate.now(), Runtime.getRuntime().availableProcessors(),
                Runtime.version(), connections, churning, rate, minutes);
        System.out.println("| minute | heap after GC | RSS | threads | open files | Redis used_memory | events | deliveries | pushes sent |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        List<double[]> rows = new ArrayList<>();
        try (SseLoad load = new SseLoad()) {
            load.open(port, connections, sources, i -> request(i));
            awaitReady(load, connections);
            Random random = new Random(12);
            long start = System.nanoTime();
            long nextEvent = start;
            long period = TimeUnit.SECONDS.toNanos(1) / rate;
            int nextChurn = connections;   // connections opened so far (churned ones get new indices)
            int[] churnIndices = new int[churning];
            for (int c = 0; c < churning; c++) {
                churnIndices[c] = stable + c;
            }
            for (int minute = 1; minute <= minutes; minute++) {
                long minuteEnd = start + TimeUnit.MINUTES.toNanos(minute);
                while (System.nanoTime() < minuteEnd) {
                    long now = System.nanoTime();
                    if (now < nextEvent) {
                        TimeUnit.NANOSECONDS.sleep(Math.min(nextEvent - now, minuteEnd - now));
                        continue;
                    }
                    nextEvent += period;
                    publish(http, port, random, published[0]++, expected, pushes);
                }
                // This minute's churn: close the churning streams and open as many anew.
                for (int c = 0; c < churning; c++) {
                    load.drop(churnIndices[c]);
                }
                final int base = nextChurn;
                load.open(port, churning, sources, i -> request(stable + (base + i) % churning));
                for (int c = 0; c < churning; c++) {
                    churnIndices[c] = base + c;
                }
                nextChurn += churning;
                double[] row = measure(node, info);
                rows.add(row);
                System.out.printf(Locale.ROOT, "| %d | %,.0f KiB | %,.0f MiB | %.0f | %.0f | %,.1f MiB | %,d | %,d | %,d |%n",
                        minute, row[0], row[1], row[2], row[3], row[4], published[0], load.events(), fcm.arrived());
            }
            return verdict(rows, load, stable, expected, pushes[0], fcm);
        }
    }

    /** One event: to a mall (half), an admin (a quarter), a mall and one of its admins, or everyone (1 %). */
    private void publish(HttpClient http, int port, Random random, long n, AtomicLongArray expected, long[] pushes) throws Exception {
        int mall = random.nextInt(MALLS);
        int admin = random.nextInt(TARGETED_ADMINS);
        int roll = random.nextInt(100);
        String targets;
        if (roll < 1) {
            targets = "all";
            for (int a = 0; a < ADMINS; a++) {
                expected.incrementAndGet(a);
            }
        } else if (roll < 51) {
            targets = "mall:" + mall;
            for (int a = mall; a < ADMINS; a += MALLS) {
                expected.incrementAndGet(a);
            }
        } else if (roll < 76) {
            targets = "admin:" + admin;
            expected.incrementAndGet(admin);
        } else {
            int own = admin % MALLS;   // the mall admin `admin` works for, so the event reaches them once
            targets = "mall:" + own + ",admin:" + admin;
            for (int a = own; a < ADMINS; a += MALLS) {
                expected.incrementAndGet(a);
            }
        }
        boolean push = targets.startsWith("admin:") && admin < PHONES && n % 10 == 0;
        if (push) {
            pushes[0]++;
        }
        String body = "{\"specversion\":\"1.0\",\"id\":\"soak-" + n + "\",\"source\":\"/soak\",\"type\":\"order.created\","
                + "\"targets\":\"" + targets + "\",\"subject\":\"새 주문\"" + (push ? ",\"push\":\"true\"" : "")
                + ",\"data\":{\"t\":" + System.nanoTime() + ",\"orderNo\":\"S-" + n + "\",\"productName\":\"여름 반팔 티셔츠\",\"amount\":39000}}";
        HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                .header("X-Api-Key", API_KEY).header("Content-Type", "application/cloudevents+json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (reply.statusCode() != 202) {
            throw new IllegalStateException("publish: " + reply.statusCode() + " " + reply.body());
        }
    }

    /** heap after GC (KiB), RSS (MiB), threads, open files, Redis used_memory (MiB). */
    private double[] measure(Process node, StatefulRedisConnection<String, String> info) throws Exception {
        Process jcmd = new ProcessBuilder(Path.of(javaHome, "bin", "jcmd").toString(), Long.toString(node.pid()),
                "GC.class_histogram").redirectErrorStream(true).start();
        String histogram = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor();
        double heap = 0;
        for (String line : histogram.split("\n")) {
            if (line.startsWith("Total")) {
                String[] parts = line.trim().split("\\s+");
                heap = Long.parseLong(parts[2]) / 1024.0;
            }
        }
        double rss = 0;
        double threads = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(node.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            } else if (line.startsWith("Threads:")) {
                threads = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        double files;
        try (var fds = Files.list(Path.of("/proc", Long.toString(node.pid()), "fd"))) {
            files = fds.count();
        }
        double used = 0;
        for (String line : info.sync().info("memory").split("\r?\n")) {
            if (line.startsWith("used_memory:")) {
                used = Long.parseLong(line.substring("used_memory:".length()).trim()) / 1024.0 / 1024.0;
            }
        }
        return new double[] {heap, rss, threads, files, used};
    }

    private boolean verdict(List<double[]> rows, SseLoad load, int stable, AtomicLongArray expected, long pushes,
                            FcmServer fcm) throws InterruptedException {
        boolean pass = true;
        String[] names = {"heap after GC (KiB)", "RSS (MiB)", "threads", "open files", "Redis used_memory (MiB)"};
        double[] floors = {2_048, 8, 4, 8, 1};
        System.out.println();
        if (rows.size() >= 40) {
            for (int f = 0; f < names.length; f++) {
                double early = mean(rows, 30, 40, f);
                double late = mean(rows, rows.size() - 10, rows.size(), f);
                boolean flat = late - early <= Math.max(early * 0.05, floors[f]);
                pass &= flat;
                System.out.printf(Locale.ROOT, "plateau %-24s minutes 31-40 %,10.1f, last 10 %,10.1f: %s%n", names[f], early, late,
                        flat ? "flat" : "GROWING");
            }
        } else {
            System.out.println("plateau: not judged (needs at least 40 minutes)");
        }
        // Deliveries still in flight settle within seconds; then every stable stream must have its admin's events.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long lost;
        long doubled;
        do {
            Thread.sleep(500);
            long[] counts = load.perConnection();
            lost = 0;
            doubled = 0;
            for (int i = 0; i < stable; i++) {
                long want = expected.get(i % ADMINS);
                lost += Math.max(0, want - counts[i]);
                doubled += Math.max(0, counts[i] - want);
            }
        } while ((lost > 0 || fcm.arrived() < pushes) && System.nanoTime() < deadline);
        System.out.printf(Locale.ROOT, "deliveries to the %,d streams open throughout: lost %,d, duplicated %,d%n", stable, lost, doubled);
        System.out.printf(Locale.ROOT, "pushes: %,d published, %,d sent to FCM%n", pushes, fcm.arrived());
        pass &= lost == 0 && doubled == 0 && fcm.arrived() == pushes;
        System.out.println(pass ? "PASS" : "FAIL");
        return pass;
    }

    private static double mean(List<double[]> rows, int from, int to, int field) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += rows.get(i)[field];
        }
        return sum / (to - from);
    }

    private static void awaitReady(SseLoad load, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (load.ready() < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + load.ready() + " of " + count + " streams ready in 2 minutes");
            }
            Thread.sleep(100);
        }
    }

    private Process startNode(int port, Path tokens, FcmServer fcm, RedisProcess redis, Path log) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(javaHome, "bin", "java").toString(), "-Xmx1g", "-jar", "target/alimi.jar")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(Map.of(
                "ALIMI_ROLES", "relay,push",
                "ALIMI_HTTP_PORT", Integer.toString(port),
                "ALIMI_HTTP_HOST", "127.0.0.1",
                "ALIMI_REDIS_URL", redis.url(),
                "ALIMI_PUBLISH_API_KEYS", "bench=" + API_KEY,
                "ALIMI_AUTH_DEV_TOKENS_FILE", tokens.toString(),
                "ALIMI_PUSH_FCM_CREDENTIALS_FILE", fcm.credentials().toString(),
                "ALIMI_PUSH_FCM_BASE_URL", fcm.baseUrl(),
                "ALIMI_PUSH_FCM_IID_BASE_URL", fcm.baseUrl()));
        builder.environment().putAll(Map.of(
                // Bounds reached within the run, so that growth after them is a leak, not retention filling up.
                "ALIMI_TIMELINE_MAX_LENGTH", "50",
                "ALIMI_TIMELINE_DEDUP_TTL", "10m",
                // Streams that stay open all the run (their deliveries are counted).
                "ALIMI_RELAY_MAX_LIFETIME", Math.max(30, minutes * 2) + "m",
                // One load client on 4 addresses stands for thousands of browsers.
                "ALIMI_LIMITS_CONNECTS_PER_SECOND_PER_IP", "1000000",
                "ALIMI_LIMITS_CONNECT_BURST_PER_IP", "1000000",
                "ALIMI_LIMITS_ADMISSIONS_PER_SECOND", "1000000",
                "ALIMI_LIMITS_ADMISSION_BURST", "1000000",
                "ALIMI_LIMITS_CONNECTIONS_PER_ADMIN", "1000"));
        return NodeProcess.listening(builder.start(), port, log);
    }

    private static void writeTokens(Path file) throws IOException {
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < ADMINS; i++) {
            json.append(i == 0 ? "" : ",").append("\"").append(token(i)).append("\":{\"adminNo\":\"").append(i)
                    .append("\",\"malls\":[\"").append(i % MALLS).append("\"]}");
        }
        Files.writeString(file, json.append("}").toString());
    }

    private static String token(int i) {
        return "soak-admin-" + i + "-token";
    }

    /** Stream {@code i}: admin {@code i % 1000}, all their scopes. */
    private static byte[] request(int i) {
        return ("GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token(i % ADMINS) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }
}

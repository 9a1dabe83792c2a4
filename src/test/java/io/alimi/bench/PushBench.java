package io.alimi.bench;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.support.FcmServer;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What per-device pushes cost: an Alimi node (the production jar, its own process, roles relay and push) with
 * {@code --devices} admins each registered with one phone, all in mall 1 and the platform's {@code all}; one
 * push-flagged event to {@code all} (every device), then one to a mall of a tenth of them. The FCM server is the
 * tests' local one (HTTP/1.1 on loopback, answering 200 at once), in this JVM. Reported: time from the publish to
 * the last device's message at the FCM server, sends per second, and CPU of the node, Redis and this JVM (the
 * FCM stand-in) per 1,000 sends.
 */
public final class PushBench {

    private static final String SECRET = "push-bench-hs256-secret-000000001";
    private static final String API_KEY = "bench-publisher-key-0001";

    private final Map<String, String> options;
    private final int devices;
    private final int runs;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    private PushBench(Map<String, String> options) {
        this.options = options;
        this.devices = Integer.parseInt(options.getOrDefault("--devices", "10000"));
        this.runs = Integer.parseInt(options.getOrDefault("--runs", "3"));
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/bench-push [--devices N] [--runs R] [--fanout F]
                    Defaults: 10000 devices (one per admin), 3 runs per scenario (median reported), the node's
                    alimi.push.fanout (64).""");
            return;
        }
        new PushBench(BenchOptions.parse(args)).run();
    }

    private void run() throws Exception {
        Path work = Files.createTempDirectory("alimi-bench-push-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
        if (!Files.exists(Path.of("target/alimi.jar"))) {
            throw new IllegalStateException("target/alimi.jar is missing; scripts/bench-push builds it first");
        }
        RedisProcess redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--save", ""));
        long redisPid = redisPid(redis);
        try (FcmServer fcm = new FcmServer()) {
            int port = Ports.free();
            List<String> command = new ArrayList<>(List.of(javaBin, "-Xmx1g", "-jar", "target/alimi.jar"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(Files.createTempFile("alimi-bench-push-node-", ".log").toFile());
            builder.environment().putAll(Map.of(
                    "ALIMI_ROLES", "relay,push",
                    "ALIMI_HTTP_PORT", Integer.toString(port),
                    "ALIMI_HTTP_HOST", "127.0.0.1",
                    "ALIMI_REDIS_URL", redis.url(),
                    "ALIMI_PUBLISH_API_KEYS", "bench=" + API_KEY,
                    "ALIMI_AUTH_JWT_HS256_SECRET", SECRET,
                    "ALIMI_PUSH_FCM_CREDENTIALS_FILE", fcm.credentials().toString(),
                    "ALIMI_PUSH_FCM_BASE_URL", fcm.baseUrl(),
                    "ALIMI_PUSH_FCM_IID_BASE_URL", fcm.baseUrl()));
            if (options.containsKey("--fanout")) {
                builder.environment().put("ALIMI_PUSH_FANOUT", options.get("--fanout"));
            }
            Process node = builder.start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                awaitReady(http, port, node);
                System.out.printf(Locale.ROOT, "# Alimi push benchmark, %s, %d cores, Java %s, Redis %s; %,d devices, one per admin%n",
                        LocalDate.now(), Runtime.getRuntime().availableProcessors(), Runtime.version(), redis.version(), devices);
                long started = System.nanoTime();
                register(http, port);
                System.out.printf(Locale.ROOT, "# %,d devices registered in %.1f s%n%n", devices, (System.nanoTime() - started) / 1e9);
                List<String> table = new ArrayList<>();
                table.add(scenario(http, port, fcm, node.pid(), redisPid, "all", devices));
                table.add(scenario(http, port, fcm, node.pid(), redisPid, "mall:1", devices / 10));
                System.out.println();
                System.out.println("| push to | devices | time to the last device (median) | runs | sends/s | node CPU ms per 1,000 sends | Redis CPU ms per 1,000 | FCM stand-in CPU ms per 1,000 |");
                System.out.println("|---|---|---|---|---|---|---|---|");
                table.forEach(System.out::println);
            } finally {
                NodeProcess.stop(node);
            }
        } finally {
            redis.stop();
        }
    }

    /** Admin i (i from 0) is admin "b<i>" of mall 1 if i is below a tenth of the devices, else of mall 2. */
    private void register(HttpClient http, int port) throws Exception {
        AtomicInteger failures = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(16, Thread.ofVirtual().factory())) {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < devices; i++) {
                int admin = i;
                all.add(pool.submit(() -> {
                    String body = "{\"token\":\"bench-phone-" + admin + "-" + "t".repeat(60) + "\",\"platform\":\"android\",\"appVersion\":\"1.0\"}";
                    HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/devices"))
                            .header("Authorization", "Bearer " + token(admin)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                    if (reply.statusCode() != 201) {
                        failures.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> future : all) {
                future.get();
            }
        }
        if (failures.get() > 0) {
            throw new IllegalStateException(failures.get() + " registrations failed");
        }
    }

    private String token(int admin) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("b" + admin)
                .claim("malls", List.of(admin < devices / 10 ? "1" : "2"))
                .expirationTime(Date.from(Instant.now().plusSeconds(3600))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private String scenario(HttpClient http, int port, FcmServer fcm, long nodePid, long redisPid, String target, int expected)
            throws Exception {
        List<double[]> measured = new ArrayList<>();   // seconds, node, Redis, stand-in CPU ms per 1,000 sends
        List<String> cells = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            int before = fcm.arrived();
            long nodeBefore = IngestBench.cpuMillis(nodePid);
            long redisBefore = IngestBench.cpuMillis(redisPid);
            long selfBefore = IngestBench.cpuMillis(ProcessHandle.current().pid());
            long start = System.nanoTime();
            String id = "bench-" + target.replace(':', '-') + "-" + run + "-" + System.nanoTime();
            HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                    .header("X-Api-Key", API_KEY).header("Content-Type", "application/cloudevents+json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/bench\","
                            + "\"type\":\"notice.created\",\"targets\":\"" + target + "\",\"subject\":\"점검 안내\",\"push\":\"true\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (reply.statusCode() != 202) {
                throw new IllegalStateException("publish: " + reply.statusCode() + " " + reply.body());
            }
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (fcm.arrived() - before < expected) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("only " + (fcm.arrived() - before) + " of " + expected + " sends in 5 minutes");
                }
                Thread.sleep(5);
            }
            double took = (System.nanoTime() - start) / 1e9;
            long nodeMs = IngestBench.cpuMillis(nodePid) - nodeBefore;
            long redisMs = IngestBench.cpuMillis(redisPid) - redisBefore;
            long selfMs = IngestBench.cpuMillis(ProcessHandle.current().pid()) - selfBefore;
            int sent = fcm.arrived() - before;
            if (sent != expected) {
                throw new IllegalStateException(sent + " sends for " + expected + " devices");
            }
            System.out.printf(Locale.ROOT, "push to %-6s run %d: %,d devices in %.2f s (%,.0f sends/s); node %d ms, Redis %d ms, FCM stand-in %d ms CPU%n",
                    target, run, expected, took, expected / took, nodeMs, redisMs, selfMs);
            measured.add(new double[] {took, nodeMs * 1000.0 / expected, redisMs * 1000.0 / expected, selfMs * 1000.0 / expected});
            cells.add(String.format(Locale.ROOT, "%.2f s", took));
        }
        // The median run by time, and that run's CPU figures.
        double[] median = measured.stream().sorted(java.util.Comparator.comparingDouble(m -> m[0])).toList().get(measured.size() / 2);
        return String.format(Locale.ROOT, "| `%s` | %,d | **%.2f s** | %s | %,.0f | %.0f | %.0f | %.0f |", target, expected, median[0],
                String.join(", ", cells), expected / median[0], median[1], median[2], median[3]);
    }

    private static void awaitReady(HttpClient http, int port, Process node) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            if (!node.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("the Alimi node did not become ready");
            }
            Thread.sleep(50);
        }
    }

    /** The redis-server child of this JVM listening for {@code redis}. */
    private static long redisPid(RedisProcess redis) {
        return ProcessHandle.current().children().filter(p -> p.info().command().orElse("").contains("redis-server"))
                .findFirst().orElseThrow().pid();
    }
}

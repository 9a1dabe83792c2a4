package io.alimi.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;

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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code scripts/bench-resume}: how long an HTTP publish takes while many clients resume far behind, each replay a
 * thousand entries read from Redis and written to the client.
 *
 * <p>One node (the jar given, {@code target/alimi.jar} by default) on its own Redis; mall:1 holds {@code entries}
 * events of about {@code event-bytes} each. Each run: a publisher sends one event at a time to mall:2 (keep-alive,
 * each publish waits for its answer) for {@code seconds} alone, then for {@code seconds} while {@code clients}
 * clients (one admin each) resume mall:1 from a cursor older than all of it, again and again: an SSE stream opened
 * with {@code Last-Event-ID}, read until the whole replay is in, then hung up ({@code --transport poll}: a
 * long-poll answered with the replay). Reports publish latency alone and under the resumes, and the resumes done;
 * medians over the runs.
 */
public final class ResumeBench {

    private static final String SECRET = "resume-bench-hs256-secret-00000001";
    private static final String API_KEY = "resume-bench-publisher-key-0001";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String jar;
    private final int clients;
    private final int entries;
    private final int eventBytes;
    private final int seconds;
    private final int runs;
    private final String transport;
    private final String jfr;
    private final String concurrentReplays;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    private ResumeBench(Map<String, String> options) {
        jar = options.getOrDefault("--jar", "target/alimi.jar");
        clients = Integer.parseInt(options.getOrDefault("--clients", "200"));
        entries = Integer.parseInt(options.getOrDefault("--entries", "1000"));
        eventBytes = Integer.parseInt(options.getOrDefault("--event-bytes", "1000"));
        seconds = Integer.parseInt(options.getOrDefault("--seconds", "15"));
        runs = Integer.parseInt(options.getOrDefault("--runs", "3"));
        transport = options.getOrDefault("--transport", "sse");
        jfr = options.get("--jfr");
        concurrentReplays = options.get("--concurrent-replays");
        if (!transport.equals("sse") && !transport.equals("poll")) {
            throw new IllegalArgumentException("--transport: sse or poll");
        }
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/bench-resume [--jar J] [--transport sse|poll] [--clients C] [--entries N] [--event-bytes B]
                                                [--seconds S] [--runs R] [--concurrent-replays N] [--jfr FILE]
                    Defaults: target/alimi.jar, 200 clients resuming 1000 entries of ~1000 bytes, 15 s alone then 15 s
                    under load per run, 3 runs (medians reported). --jar compares another build (an older commit's).""");
            return;
        }
        new ResumeBench(BenchOptions.parse(args)).run();
    }

    private void run() throws Exception {
        if (!Files.exists(Path.of(jar))) {
            throw new IllegalStateException(jar + " is missing; scripts/bench-resume builds target/alimi.jar first");
        }
        Path work = Files.createTempDirectory("alimi-bench-resume-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
        RedisProcess redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--save", "", "--appendonly", "no"));
        int port = Ports.free();
        Path log = Files.createTempFile("alimi-bench-resume-node-", ".log");
        List<String> command = new ArrayList<>(List.of(javaBin, "-Xmx1g"));
        if (jfr != null) {
            command.add("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile");
        }
        command.addAll(List.of("-jar", jar));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = new HashMap<>(Map.of(
                "ALIMI_ROLES", "relay",
                "ALIMI_HTTP_PORT", Integer.toString(port),
                "ALIMI_HTTP_HOST", "127.0.0.1",
                "ALIMI_REDIS_URL", redis.url(),
                "ALIMI_PUBLISH_API_KEYS", "bench=" + API_KEY,
                "ALIMI_AUTH_JWT_HS256_SECRET", SECRET));
        // Every client is on 127.0.0.1 and resumes without pause: the per-address and node rates would refuse them.
        env.putAll(Map.of(
                "ALIMI_LIMITS_CONNECTS_PER_SECOND_PER_IP", "1000000",
                "ALIMI_LIMITS_CONNECT_BURST_PER_IP", "1000000",
                "ALIMI_LIMITS_ADMISSIONS_PER_SECOND", "1000000",
                "ALIMI_LIMITS_ADMISSION_BURST", "1000000",
                "ALIMI_RELAY_MAX_CATCH_UP", Integer.toString(entries),
                // A resumer hangs up once it has its replay: heartbeats every second find the socket closed.
                "ALIMI_RELAY_HEARTBEAT", "1s",
                "ALIMI_LIMITS_CONNECTIONS_PER_ADMIN", "1000"));
        if (concurrentReplays != null) {
            env.put("ALIMI_RELAY_CONCURRENT_REPLAYS", concurrentReplays);
        }
        builder.environment().putAll(env);
        Process node = NodeProcess.listening(builder.start(), port, log);
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + port;
            String cursor = cursorBeforeEverything(http, base);
            fill(http, base);
            System.out.printf(Locale.ROOT, "# Alimi resume benchmark, %s, %d cores, Java %s, Redis %s, %s%n"
                            + "# %d clients resuming %d entries of ~%d bytes over %s; a publisher one event at a time%n%n",
                    LocalDate.now(), Runtime.getRuntime().availableProcessors(), Runtime.version(), redis.version(), jar,
                    clients, entries, eventBytes, transport);
            List<double[]> results = new ArrayList<>();
            for (int run = 1; run <= runs; run++) {
                double[] result = measure(http, base, cursor);
                results.add(result);
                System.out.printf(Locale.ROOT, "run %d: alone p50 %.2f ms p99 %.2f ms (%d publishes); under resumes p50 %.2f ms "
                                + "p99 %.2f ms (%d publishes, %d failed); %.0f resumes/s, %.0f entries/s replayed%n",
                        run, result[0], result[1], (long) result[2], result[3], result[4], (long) result[5], (long) result[8],
                        result[6], result[7]);
            }
            System.out.println();
            System.out.println("| build | publish alone p50 / p99 | under resumes p50 / p99 | resumes/s | entries/s replayed | runs |");
            System.out.println("|---|---|---|---|---|---|");
            System.out.printf(Locale.ROOT, "| %s | %.2f / %.2f ms | %.2f / %.2f ms | %.0f | %.0f | %d |%n", jar,
                    median(results, 0), median(results, 1), median(results, 3), median(results, 4),
                    median(results, 6), median(results, 7), runs);
        } finally {
            NodeProcess.stop(node);
            redis.stop();
        }
    }

    private static final byte[] FILL_ID = "\"id\":\"fill-".getBytes(StandardCharsets.US_ASCII);

    private static int occurrences(byte[] text, byte[] pattern) {
        int count = 0;
        outer:
        for (int i = 0; i + pattern.length <= text.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (text[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            count++;
            i += pattern.length - 1;
        }
        return count;
    }

    /** Counts {@link #FILL_ID} in the stream until {@code wanted} are seen or it ends. */
    private static int countUntil(java.io.InputStream in, int wanted) throws java.io.IOException {
        byte[] buffer = new byte[64 * 1024];
        int count = 0;
        int matched = 0;
        int n;
        while (count < wanted && (n = in.read(buffer)) >= 0) {
            for (int i = 0; i < n; i++) {
                if (buffer[i] == FILL_ID[matched]) {
                    if (++matched == FILL_ID.length) {
                        count++;
                        matched = 0;
                    }
                } else {
                    matched = buffer[i] == FILL_ID[0] ? 1 : 0;
                }
            }
        }
        return count;
    }

    private static double median(List<double[]> results, int column) {
        double[] values = results.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return values[values.length / 2];
    }

    private String token(String admin) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject(admin)
                .claim("malls", List.of("1", "2")).expirationTime(Date.from(Instant.now().plusSeconds(7200))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    /** A cursor on mall:1 made before anything is in it: resuming from it replays all of mall:1. */
    private String cursorBeforeEverything(HttpClient http, String base) throws Exception {
        HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/poll?scopes=mall:1&wait=0"))
                .header("Authorization", "Bearer " + token("r0")).build(), HttpResponse.BodyHandlers.ofString());
        if (reply.statusCode() != 200) {
            throw new IllegalStateException("poll: " + reply.statusCode() + " " + reply.body());
        }
        return JSON.readTree(reply.body()).get("cursor").asText();
    }

    private void fill(HttpClient http, String base) throws Exception {
        String blob = "x".repeat(Math.max(1, eventBytes - 200));
        for (int start = 0; start < entries; start += 500) {
            StringBuilder batch = new StringBuilder("[");
            for (int i = start; i < Math.min(entries, start + 500); i++) {
                if (i > start) {
                    batch.append(',');
                }
                batch.append("{\"specversion\":\"1.0\",\"id\":\"fill-").append(i).append("\",\"source\":\"/bench\",")
                        .append("\"type\":\"order.created\",\"targets\":\"mall:1\",\"data\":{\"blob\":\"").append(blob).append("\"}}");
            }
            HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                    .header("Content-Type", "application/cloudevents-batch+json").header("X-Api-Key", API_KEY)
                    .POST(HttpRequest.BodyPublishers.ofString(batch.append(']').toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (reply.statusCode() != 202) {
                throw new IllegalStateException("fill: " + reply.statusCode() + " " + reply.body());
            }
        }
    }

    /**
     * @return alone p50, p99, count; loaded p50, p99, count; resumes/s, entries/s; failed publishes
     */
    private double[] measure(HttpClient http, String base, String cursor) throws Exception {
        Histogram alone = publishFor(http, base, Duration.ofSeconds(seconds), new AtomicLong());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong resumes = new AtomicLong();
        AtomicLong replayed = new AtomicLong();
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            tokens.add(token("r" + i));
        }
        AtomicLong failed = new AtomicLong();
        Histogram loaded;
        long started;
        long ended;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            HttpClient resumers = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            for (String token : tokens) {
                pool.submit(() -> {
                    HttpRequest request = transport.equals("poll")
                            ? HttpRequest.newBuilder(URI.create(base + "/v1/poll?scopes=mall:1&wait=0&cursor=" + cursor))
                                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60)).build()
                            : HttpRequest.newBuilder(URI.create(base + "/v1/stream?scopes=mall:1"))
                                    .header("Authorization", "Bearer " + token).header("Last-Event-ID", cursor)
                                    .timeout(Duration.ofSeconds(60)).build();
                    while (!stop.get()) {
                        try {
                            if (transport.equals("poll")) {
                                HttpResponse<byte[]> reply = resumers.send(request, HttpResponse.BodyHandlers.ofByteArray());
                                if (reply.statusCode() == 200) {
                                    // Counted, not parsed: the load client must not take the CPU it measures under.
                                    replayed.addAndGet(occurrences(reply.body(), FILL_ID));
                                    resumes.incrementAndGet();
                                }
                            } else {
                                HttpResponse<java.io.InputStream> reply = resumers.send(request,
                                        HttpResponse.BodyHandlers.ofInputStream());
                                try (java.io.InputStream in = reply.body()) {
                                    if (reply.statusCode() == 200) {
                                        // Read until the whole replay is in, then hang up, as a page that got it.
                                        replayed.addAndGet(countUntil(in, entries));
                                        resumes.incrementAndGet();
                                    }
                                }
                            }
                        } catch (Exception e) {
                            // counted as not done
                        }
                    }
                    return null;
                });
            }
            // Let every client be under way before measuring.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (resumes.get() < clients && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            long resumesBefore = resumes.get();
            long replayedBefore = replayed.get();
            started = System.nanoTime();
            loaded = publishFor(http, base, Duration.ofSeconds(seconds), failed);
            ended = System.nanoTime();
            long resumesDone = resumes.get() - resumesBefore;
            long replayedDone = replayed.get() - replayedBefore;
            stop.set(true);
            double elapsed = (ended - started) / 1e9;
            return new double[] {alone.percentileMillis(0.5), alone.percentileMillis(0.99), alone.count(),
                    loaded.percentileMillis(0.5), loaded.percentileMillis(0.99), loaded.count(),
                    resumesDone / elapsed, replayedDone / elapsed, failed.get()};
        }
    }

    private Histogram publishFor(HttpClient http, String base, Duration duration, AtomicLong failed) throws Exception {
        Histogram latency = new Histogram();
        long end = System.nanoTime() + duration.toNanos();
        int n = 0;
        while (System.nanoTime() < end) {
            String event = "{\"specversion\":\"1.0\",\"id\":\"p-" + System.nanoTime() + "-" + (n++) + "\",\"source\":\"/bench\","
                    + "\"type\":\"order.created\",\"targets\":\"mall:2\",\"data\":{\"n\":" + n + "}}";
            long started = System.nanoTime();
            HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                    .header("Content-Type", "application/cloudevents+json").header("X-Api-Key", API_KEY)
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(event)).build(),
                    HttpResponse.BodyHandlers.ofString());
            latency.record(System.nanoTime() - started);
            if (reply.statusCode() != 202) {
                failed.incrementAndGet();
            }
        }
        return latency;
    }
}

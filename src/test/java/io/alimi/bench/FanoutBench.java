package io.alimi.bench;

import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code scripts/bench-fanout}: live delivery from one Alimi node to many SSE connections, on one machine.
 *
 * <p>redis-server (production redis.conf) and Alimi (its own process, the production jar, relay role) are started
 * here; this process is the load client ({@link SseLoad}: one thread, NIO, several loopback source addresses) and
 * the publisher (HTTP, at a fixed rate, to scope {@code all}, each event carrying its send time). Latency is from
 * just before the publish request to the moment the client has parsed the event. Every connection must receive
 * every event: anything less is reported as lost.
 */
public final class FanoutBench {

    private static final String API_KEY = "bench-publisher-key-0001";
    /** Admins the connections are spread over, unless {@code --admins}: connection i is admin i mod this. */
    private static final int DEFAULT_ADMINS = 1_000;
    private static final int MALLS = 100;
    private static final int WARM_SECONDS = 5;
    /**
     * The one-event-at-a-time scenario measures CPU per delivery, which the JIT still spends on compiling for a
     * while after a short warm-up (a second of ten, measured by thread): it warms up longer.
     */
    private static final int SEQUENTIAL_WARM_SECONDS = 20;

    private final Map<String, String> options;
    private final String javaHome = System.getProperty("java.home");
    private final String[] sources;
    private final int admins;
    private RedisProcess redis;
    private Process node;
    private int port;

    private FanoutBench(Map<String, String> options) {
        this.options = options;
        admins = Integer.parseInt(options.getOrDefault("--admins", Integer.toString(DEFAULT_ADMINS)));
        int count = Integer.parseInt(options.getOrDefault("--sources", "4"));
        sources = new String[count];
        for (int i = 0; i < count; i++) {
            sources[i] = "127.0.0." + (2 + i);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = BenchOptions.parse(args);
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/bench-fanout [--only idle|latency|sequential|throughput|redis|wide] [--jar target/alimi.jar] [--idle 15000] [--latency 2000]
                                                [--throughput 10000] [--rate 50] [--seconds 10] [--sources 4]
                                                [--widths 1,64,1000,10000] [--wide-connections 100] [--wide-rate 200]
                                                [--node-heap 1g] [--node-jvm-opts "..."] [--shipped-options false]
                                                [--publisher keep-alive|per-request] [--transport sse|ws] (idle)
                                                [--sequential-await answer|delivery] [--admins 1000]""");
            return;
        }
        new FanoutBench(options).run();
    }

    private void run() throws Exception {
        Path work = Files.createTempDirectory("alimi-fanout-");
        // Interrupted (Ctrl-C, kill): take the node and redis-server we started down with us.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
        Path tokens = work.resolve("tokens.json");
        writeTokens(tokens);
        redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--save", ""));
        port = Ports.free();
        node = startNode(tokens, work.resolve("node.log"));
        try {
            System.out.printf(Locale.ROOT, "# Alimi fan-out benchmark, %s, %d cores, Java %s; node: %s%n", LocalDate.now(),
                    Runtime.getRuntime().availableProcessors(), Runtime.version(), String.join(" ", nodeJvmOptions()));
            String only = options.getOrDefault("--only", "all");
            warmUp();
            if (only.equals("all") || only.equals("idle")) {
                idle(Integer.parseInt(options.getOrDefault("--idle", "15000")));
            }
            int rate = Integer.parseInt(options.getOrDefault("--rate", "50"));
            int seconds = Integer.parseInt(options.getOrDefault("--seconds", "10"));
            if (only.equals("all") || only.equals("latency")) {
                broadcast("latency", Integer.parseInt(options.getOrDefault("--latency", "2000")), rate, seconds);
            }
            if (only.equals("all") || only.equals("sequential")) {
                sequential(Integer.parseInt(options.getOrDefault("--latency", "2000")), seconds);
            }
            if (only.equals("all") || only.equals("throughput")) {
                broadcast("throughput", Integer.parseInt(options.getOrDefault("--throughput", "10000")), rate, seconds);
            }
            if (only.equals("all") || only.equals("redis")) {
                broadcast("redis-1000", 1_000, rate, seconds);
                broadcast("redis-10000", 10_000, rate, seconds);
            }
            if (only.equals("all") || only.equals("wide")) {
                for (String width : options.getOrDefault("--widths", "1,64,1000,10000").split(",")) {
                    wide(Integer.parseInt(width.strip()), Integer.parseInt(options.getOrDefault("--wide-connections", "100")),
                            Integer.parseInt(options.getOrDefault("--wide-rate", "200")), seconds);
                }
            }
        } finally {
            node.destroy();
            node.waitFor(30, TimeUnit.SECONDS);
            redis.stop();
        }
    }

    private List<String> nodeJvmOptions() {
        List<String> jvm = new ArrayList<>();
        // As shipped (config/jvm.options), unless --shipped-options false; --node-jvm-opts come after, and win.
        if (!"false".equals(options.get("--shipped-options"))) {
            jvm.add("@config/jvm.options");
        }
        jvm.add("-Xmx" + options.getOrDefault("--node-heap", "1g"));
        for (String option : options.getOrDefault("--node-jvm-opts", "").split(" ")) {
            if (!option.isBlank()) {
                jvm.add(option);
            }
        }
        return jvm;
    }

    private Process startNode(Path tokens, Path log) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(javaHome, "bin", "java").toString());
        command.addAll(nodeJvmOptions());
        command.addAll(List.of("-jar", options.getOrDefault("--jar", "target/alimi.jar")));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(Map.of(
                "ALIMI_ROLES", "relay",
                "ALIMI_HTTP_HOST", "127.0.0.1",
                "ALIMI_HTTP_PORT", Integer.toString(port),
                "ALIMI_REDIS_URL", redis.url(),
                "ALIMI_PUBLISH_API_KEYS", "bench=" + API_KEY,
                "ALIMI_AUTH_DEV_TOKENS_FILE", tokens.toString(),
                // The wide scenarios open many streams of one admin.
                "ALIMI_LIMITS_CONNECTIONS_PER_ADMIN", "1000000"));
        builder.environment().putAll(LoadLimits.LIFTED);
        return NodeProcess.listening(builder.start(), port, log);
    }

    private void writeTokens(Path file) throws IOException {
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < admins; i++) {
            json.append(i == 0 ? "" : ",").append("\"").append(token(i)).append("\":{\"adminNo\":\"").append(i)
                    .append("\",\"malls\":[\"").append(i % MALLS).append("\"]}");
        }
        // The wide operators: everyone's scope, their own, and width - 2 malls of their own (w<width>-<n>).
        for (int width : WIDTHS) {
            json.append(",\"").append(wideToken(width)).append("\":{\"adminNo\":\"").append(90_000 + width)
                    .append("\",\"malls\":[");
            for (int m = 0; m < Math.max(1, width - 2); m++) {
                json.append(m == 0 ? "" : ",").append("\"").append(wideMall(width, m)).append("\"");
            }
            json.append("]}");
        }
        Files.writeString(file, json.append("}").toString());
    }

    /** Admins following this many scopes; 1 is a page narrowed to one of its malls. */
    private static final int[] WIDTHS = {1, 64, 1_000, 10_000};

    private static String wideToken(int width) {
        return "bench-wide-" + width + "-token";
    }

    private static String wideMall(int width, int m) {
        return "w" + width + "-" + m;
    }

    private static int wideMalls(int width) {
        return Math.max(1, width - 2);
    }

    private static String wideQuery(int width) {
        return width == 1 ? "scopes=mall:" + wideMall(width, 0) : "";
    }

    private static byte[] wideRequest(int width) {
        String query = wideQuery(width);
        return ("GET /v1/stream" + (query.isEmpty() ? "" : "?" + query) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer " + wideToken(width) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * An admin following {@code width} scopes: how long a stream takes to open (to its {@code ready}) and to resume
     * (to the last of 100 events published meanwhile to its malls), medians; then {@code connections} streams of
     * that admin receiving {@code rate} events a second, each to one of its malls at random: node and Redis CPU per
     * delivered event (the tailer follows every one of the admin's streams).
     */
    private void wide(int width, int connections, int rate, int seconds) throws Exception {
        java.util.Random random = new java.util.Random(width);
        List<Double> connects = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            try (SseLoad load = new SseLoad()) {
                connects.add(open(load, 1, n -> wideRequest(width)));
            }
        }
        double firstConnect = connects.remove(0);
        List<Double> resumes = new ArrayList<>();
        int missed = 100;
        for (int round = 0; round < 5; round++) {
            String cursor;
            try (io.alimi.support.SseClient client = io.alimi.support.SseClient.connect(port, wideToken(width),
                    wideQuery(width), null)) {
                client.next(Duration.ofSeconds(60));
                cursor = client.lastEventId();
            }
            publish(missed, 1, () -> "mall:" + wideMall(width, random.nextInt(wideMalls(width))));
            long start = System.nanoTime();
            try (io.alimi.support.SseClient client = io.alimi.support.SseClient.connect(port, wideToken(width),
                    wideQuery(width), cursor)) {
                client.ids(missed, Duration.ofSeconds(60));
                resumes.add((System.nanoTime() - start) / 1e9);
            }
        }
        try (SseLoad load = new SseLoad()) {
            open(load, connections, n -> wideRequest(width));
            java.util.function.Supplier<String> target = () -> "mall:" + wideMall(width, random.nextInt(wideMalls(width)));
            long warmTarget = load.events() + (long) publish(rate, WARM_SECONDS, target) * connections;
            awaitEvents(load, warmTarget, Duration.ofSeconds(60));
            long nodeCpu = IngestBench.cpuMillis(node.pid());
            long redisCpu = IngestBench.cpuMillis(redisPid());
            Map<String, Long> redisBefore = redisCalls();
            load.record(true);
            long eventsBefore = load.events();
            long start = System.nanoTime();
            int published = publish(rate, seconds, target);
            long expected = (long) published * connections;
            long last = awaitEvents(load, eventsBefore + expected, Duration.ofSeconds(60));
            double window = (last - start) / 1e9;
            long received = load.events() - eventsBefore;
            long nodeMillis = IngestBench.cpuMillis(node.pid()) - nodeCpu;
            long redisMillis = IngestBench.cpuMillis(redisPid()) - redisCpu;
            Map<String, Long> redisAfter = redisCalls();
            Histogram latency = load.latency();
            System.out.println();
            System.out.printf(Locale.ROOT, "## wide-%d: an admin following %,d scope%s%n", width, width, width == 1 ? "" : "s");
            System.out.printf(Locale.ROOT, "connect (to ready): median %.1f ms of 10 (the first, when the node starts "
                    + "following its streams: %.1f ms)%n", median(connects) * 1000, firstConnect * 1000);
            System.out.printf(Locale.ROOT, "resume with %d events missed across its malls (to the last): median %.1f ms of 5%n",
                    missed, median(resumes) * 1000);
            System.out.printf(Locale.ROOT, "live: %d connections, %d events/s for %d s, each to one of its malls: "
                    + "deliveries %,d of %,d (lost %,d); latency p50 %.2f ms, p99 %.2f ms%n", connections, rate, seconds,
                    received, expected, expected - received, latency.percentileMillis(0.5), latency.percentileMillis(0.99));
            System.out.printf(Locale.ROOT, "CPU per delivered event: node %.1f µs, redis %.1f µs (node %.2f s, redis %.2f s "
                    + "over %.2f s); XREAD %.0f/s%n", nodeMillis * 1000.0 / Math.max(1, received),
                    redisMillis * 1000.0 / Math.max(1, received), nodeMillis / 1000.0, redisMillis / 1000.0, window,
                    delta(redisAfter, redisBefore, "xread") / window);
        }
        awaitSessions(0);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        java.util.Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** The streams {@code count} broadcast connections have the node follow: all, their admins', their malls'. */
    private long streamsFollowed(int count) {
        int distinctAdmins = Math.min(count, admins);
        return 1 + distinctAdmins + Math.min(distinctAdmins, MALLS);
    }

    private static String token(int i) {
        return "bench-admin-" + i + "-token";
    }

    /** A WebSocket upgrade for admin {@code i}, as a browser sends it (less its Origin: the load has none). */
    private byte[] webSocketRequest(int i) {
        return ("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Authorization: Bearer " + token(i % admins) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Connection {@code i}: admin {@code i % admins}, whose mall is {@code i % 100}; so {@code count} connections
     * have the node follow {@link #streamsFollowed} streams.
     */
    private byte[] request(int i) {
        return ("GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token(i % admins) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private void warmUp() throws Exception {
        try (SseLoad load = new SseLoad()) {
            open(load, 500);
            publish(100, 4);
            awaitEvents(load, 500L * 400, Duration.ofSeconds(30));
        }
        awaitSessions(0);
    }

    private double open(SseLoad load, int count) throws Exception {
        return open(load, count, this::request);
    }

    private double open(SseLoad load, int count, java.util.function.IntFunction<byte[]> request) throws Exception {
        long start = System.nanoTime();
        load.open(port, count, sources, request);
        long deadline = start + TimeUnit.SECONDS.toNanos(120);
        while (load.ready() < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + load.ready() + " of " + count + " connections got ready; closed " + load.closed());
            }
            Thread.sleep(5);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private void idle(int count) throws Exception {
        Heap before = heap();
        long rssBefore = rss();
        long cpuBefore = IngestBench.cpuMillis(node.pid());
        boolean webSocket = "ws".equals(options.get("--transport"));
        try (SseLoad load = new SseLoad()) {
            load.webSocket(webSocket);
            double seconds = open(load, count, webSocket ? this::webSocketRequest : this::request);
            long connectCpu = IngestBench.cpuMillis(node.pid()) - cpuBefore;
            Heap after = heap();
            long rssAfter = rss();
            System.out.println();
            System.out.printf(Locale.ROOT, "## idle: %,d %s connections%n", count, webSocket ? "WebSocket" : "SSE");
            System.out.printf(Locale.ROOT, "connect: all %,d ready in %.2f s (%,.0f connections/s), node CPU %.2f s%n",
                    count, seconds, count / seconds, connectCpu / 1000.0);
            System.out.printf(Locale.ROOT, "node RSS: %,d KiB -> %,d KiB: %.1f KiB per connection%n",
                    rssBefore / 1024, rssAfter / 1024, (rssAfter - rssBefore) / 1024.0 / count);
            System.out.printf(Locale.ROOT, "node live heap after full GC: %,d KiB -> %,d KiB: %.1f KiB per connection%n",
                    before.total / 1024, after.total / 1024, (after.total - before.total) / 1024.0 / count);
            if (options.containsKey("--thread-dump")) {
                new ProcessBuilder(Path.of(javaHome, "bin", "jcmd").toString(), Long.toString(node.pid()),
                        "Thread.dump_to_file", "-overwrite", options.get("--thread-dump")).start().waitFor();
            }
            System.out.println("heap per connection by class (top 15):");
            after.perClassDelta(before, count).entrySet().stream().limit(15).forEach(e ->
                    System.out.printf(Locale.ROOT, "  %8.0f B  %s%n", e.getValue(), e.getKey()));
        }
        awaitSessions(0);
    }

    private void broadcast(String name, int count, int rate, int seconds) throws Exception {
        try (SseLoad load = new SseLoad()) {
            double connectSeconds = open(load, count);
            // Warm the node at this scale first: the JIT recompiles as the fan-out grows.
            long warmTarget = load.events() + (long) publish(rate, WARM_SECONDS) * count;
            awaitEvents(load, warmTarget, Duration.ofSeconds(60));
            Map<String, Long> redisBefore = redisCalls();
            Map<String, Long> countersBefore = nodeCounters(DELIVERIES, LIVE_WRITES);
            ThreadCpu threadsBefore = ThreadCpu.of(node.pid());
            long nodeCpu = IngestBench.cpuMillis(node.pid());
            long selfCpu = IngestBench.cpuMillis(ProcessHandle.current().pid());
            long redisCpu = IngestBench.cpuMillis(redisPid());
            load.record(true);
            long eventsBefore = load.events();
            long start = System.nanoTime();
            Process perf = null;
            if (options.containsKey("--perf")) {
                perf = new ProcessBuilder("perf", "record", "-o", options.get("--perf"), "-F", "999", "-g", "-p",
                        Long.toString(node.pid()), "--", "sleep", Integer.toString(Math.max(1, seconds - 2)))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            }
            int published = publish(rate, seconds);
            if (perf != null) {
                perf.waitFor();
            }
            long expected = (long) published * count;
            long last = awaitEvents(load, eventsBefore + expected, Duration.ofSeconds(60));
            double window = (last - start) / 1e9;
            long received = load.events() - eventsBefore;
            Map<String, Long> redisAfter = redisCalls();
            String byThread = ThreadCpu.of(node.pid()).since(threadsBefore);
            String perWrite = perWrite(countersBefore);
            Histogram latency = load.latency();
            System.out.println();
            System.out.printf(Locale.ROOT, "## %s: %,d SSE connections, %d events/s to scope all for %d s%n", name, count, rate, seconds);
            System.out.printf(Locale.ROOT, "connect: %,d in %.2f s; the node follows %,d streams%n", count, connectSeconds,
                    streamsFollowed(count));
            System.out.printf(Locale.ROOT, "deliveries: %,d of %,d (lost %,d) in %.2f s: %,.0f deliveries/s; slow-consumer cut-offs %d%n",
                    received, expected, expected - received, window, received / window, load.reconnectNotices());
            System.out.printf(Locale.ROOT, "publish->receive latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms%n",
                    latency.percentileMillis(0.5), latency.percentileMillis(0.99), latency.percentileMillis(0.999), latency.maxMillis());
            System.out.printf(Locale.ROOT, "HTTP publish answered (%s): p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                    "per-request".equals(options.get("--publisher")) ? "a connection per publish, Connection: close"
                            : "one keep-alive connection", publishAnswers.percentileMillis(0.5),
                    publishAnswers.percentileMillis(0.99), publishAnswers.maxMillis());
            System.out.printf(Locale.ROOT, "CPU: node %.2f s, load client + publisher %.2f s, redis %.2f s over %.2f s%n",
                    (IngestBench.cpuMillis(node.pid()) - nodeCpu) / 1000.0,
                    (IngestBench.cpuMillis(ProcessHandle.current().pid()) - selfCpu) / 1000.0,
                    (IngestBench.cpuMillis(redisPid()) - redisCpu) / 1000.0, window);
            System.out.println("node CPU by thread: " + byThread);
            System.out.println(perWrite);
            double live = delta(redisAfter, redisBefore, "xread") + delta(redisAfter, redisBefore, "client|id")
                    + delta(redisAfter, redisBefore, "client|unblock") + delta(redisAfter, redisBefore, "client");
            System.out.printf(Locale.ROOT, "redis live-path commands: %.0f/s (XREAD %.0f/s); all commands %.0f/s%n",
                    live / window, delta(redisAfter, redisBefore, "xread") / window, delta(redisAfter, redisBefore, "*") / window);
        }
        awaitSessions(0);
    }

    /**
     * One event at a time: each publish is sent when the previous one is answered (not delivered), for
     * {@code seconds}, to {@code count} connections following {@code all}. Reports the node's CPU per delivered
     * event and the deliveries per write: writers that fall behind the publisher write several events at once,
     * which costs less per event. With {@code --sequential-await delivery} each publish is sent once the previous
     * event has reached every connection: exactly one event per write, the cost of a write itself.
     */
    private void sequential(int count, int seconds) throws Exception {
        try (SseLoad load = new SseLoad()) {
            double connectSeconds = open(load, count);
            SseLoad awaitDelivery = "delivery".equals(options.get("--sequential-await")) ? load : null;
            publishSequentially(Duration.ofSeconds(SEQUENTIAL_WARM_SECONDS), awaitDelivery, count);
            awaitQuiet(load);
            long eventsBefore = load.events();
            long nodeCpu = IngestBench.cpuMillis(node.pid());
            ThreadCpu threadsBefore = ThreadCpu.of(node.pid());
            Map<String, Long> countersBefore = nodeCounters(DELIVERIES, LIVE_WRITES);
            long start = System.nanoTime();
            int published = publishSequentially(Duration.ofSeconds(seconds), awaitDelivery, count);
            long expected = (long) published * count;
            long last = awaitEvents(load, eventsBefore + expected, Duration.ofSeconds(60));
            long cpuMillis = IngestBench.cpuMillis(node.pid()) - nodeCpu;
            String byThread = ThreadCpu.of(node.pid()).since(threadsBefore);
            String perWrite = perWrite(countersBefore);
            long received = load.events() - eventsBefore;
            double window = (last - start) / 1e9;
            System.out.println();
            System.out.printf(Locale.ROOT, "## sequential: %,d SSE connections, one publish at a time to scope all for %d s%n",
                    count, seconds);
            System.out.printf(Locale.ROOT, "connect: %,d in %.2f s%n", count, connectSeconds);
            System.out.printf(Locale.ROOT, "published %,d (%.0f/s, each after the previous " + (awaitDelivery == null ? "answer" : "delivery")
                    + "); deliveries %,d of %,d (lost %,d) "
                    + "in %.2f s: %,.0f deliveries/s%n", published, published / (double) seconds, received, expected,
                    expected - received, window, received / window);
            System.out.printf(Locale.ROOT, "HTTP publish answered: p50 %.2f ms, p99 %.2f ms%n",
                    publishAnswers.percentileMillis(0.5), publishAnswers.percentileMillis(0.99));
            System.out.printf(Locale.ROOT, "node CPU: %.2f s, %.2f µs per delivered event%n", cpuMillis / 1000.0,
                    cpuMillis * 1000.0 / Math.max(1, received));
            System.out.println("node CPU by thread: " + byThread);
            System.out.println(perWrite);
        }
        awaitSessions(0);
    }

    /** Waits until no event has arrived for half a second (the warm-up's deliveries are all in). */
    private static void awaitQuiet(SseLoad load) throws InterruptedException {
        long seen = -1;
        while (load.events() != seen) {
            seen = load.events();
            Thread.sleep(500);
        }
    }

    /**
     * Publishes to {@code all} over one keep-alive connection, each publish once the previous one is answered and,
     * if {@code awaitDelivery} is given, once that client has received it on all its {@code connections}.
     */
    private int publishSequentially(Duration duration, SseLoad awaitDelivery, int connections) throws Exception {
        publishAnswers.clear();
        long end = System.nanoTime() + duration.toNanos();
        int published = 0;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port));
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
            while (System.nanoTime() < end) {
                String body = "{\"specversion\":\"1.0\",\"id\":\"s-" + System.nanoTime() + "-" + published
                        + "\",\"source\":\"/bench\",\"type\":\"bench.tick\",\"targets\":\"all\",\"data\":{\"t\":"
                        + System.nanoTime() + "}}";
                long deliveredBefore = awaitDelivery == null ? 0 : awaitDelivery.events();
                long sent = System.nanoTime();
                out.write(HttpLoad.post("/v1/events", "application/cloudevents+json", API_KEY, body));
                out.flush();
                readStatus(in);
                publishAnswers.record(System.nanoTime() - sent);
                published++;
                if (awaitDelivery != null) {
                    long target = deliveredBefore + connections;
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (awaitDelivery.events() < target && System.nanoTime() < deadline) {
                        java.util.concurrent.locks.LockSupport.parkNanos(20_000);
                    }
                }
            }
        }
        return published;
    }

    private static double delta(Map<String, Long> after, Map<String, Long> before, String command) {
        return after.getOrDefault(command, 0L) - before.getOrDefault(command, 0L);
    }

    /** Publishes {@code rate × seconds} events to scope all at a steady rate; returns how many. */
    private int publish(int rate, int seconds) throws Exception {
        return publish(rate, seconds, () -> "all");
    }

    /**
     * Publishes {@code rate × seconds} events, each to the targets {@code targets} gives, at a steady rate, timing
     * each answer ({@link #publishAnswers}): over one keep-alive connection, or with {@code --publisher per-request}
     * a connection per publish sent with {@code Connection: close}, as a script or a stateless producer does.
     */
    private int publish(int rate, int seconds, java.util.function.Supplier<String> targets) throws Exception {
        int total = rate * seconds;
        long start = System.nanoTime();
        long interval = TimeUnit.SECONDS.toNanos(1) / rate;
        boolean perRequest = "per-request".equals(options.get("--publisher"));
        publishAnswers.clear();
        Socket socket = null;
        try {
            OutputStream out = null;
            InputStream in = null;
            for (int i = 0; i < total; i++) {
                long due = start + i * interval;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                String body = "{\"specversion\":\"1.0\",\"id\":\"f-" + System.nanoTime() + "-" + i + "\",\"source\":\"/bench\","
                        + "\"type\":\"bench.tick\",\"targets\":\"" + targets.get() + "\",\"data\":{\"t\":" + System.nanoTime() + "}}";
                byte[] request = HttpLoad.post("/v1/events", "application/cloudevents+json", API_KEY, body);
                long sent = System.nanoTime();
                if (socket == null || perRequest) {
                    if (socket != null) {
                        socket.close();
                    }
                    socket = new Socket();
                    socket.connect(new InetSocketAddress("127.0.0.1", port));
                    socket.setTcpNoDelay(true);
                    out = socket.getOutputStream();
                    in = new java.io.BufferedInputStream(socket.getInputStream());
                }
                if (perRequest) {
                    String text = new String(request, java.nio.charset.StandardCharsets.ISO_8859_1);
                    request = text.replaceFirst("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
                            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
                }
                out.write(request);
                out.flush();
                readStatus(in);
                publishAnswers.record(System.nanoTime() - sent);
            }
        } finally {
            if (socket != null) {
                socket.close();
            }
        }
        return total;
    }

    /** How long each publish of the last {@link #publish} run took to be answered (connecting included). */
    private final Histogram publishAnswers = new Histogram();

    private static void readStatus(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int length = 0;
        boolean first = true;
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("publish connection closed");
            }
            if (c == '\n') {
                String text = line.toString().strip();
                if (first) {
                    if (!text.startsWith("HTTP/1.1 202")) {
                        throw new IOException("publish refused: " + text);
                    }
                    first = false;
                } else if (text.isEmpty()) {
                    in.skipNBytes(length);
                    return;
                } else if (text.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(text.substring(15).strip());
                }
                line.setLength(0);
            } else {
                line.append((char) c);
            }
        }
    }

    /** Waits until {@code target} events were received (or the timeout); returns when the last one came. */
    private static long awaitEvents(SseLoad load, long target, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long seen = load.events();
        long lastChange = System.nanoTime();
        while (load.events() < target && System.nanoTime() < deadline) {
            Thread.sleep(2);
            long now = load.events();
            if (now != seen) {
                seen = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(10)) {
                break;
            }
        }
        return load.events() >= target ? System.nanoTime() : lastChange;
    }

    private void awaitSessions(int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try {
                String health = new String(java.net.http.HttpClient.newHttpClient().send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body(), StandardCharsets.UTF_8);
                if (health.contains("\"" + count + " live connections")) {
                    return;
                }
            } catch (IOException ignored) {
                // retry
            }
            Thread.sleep(100);
        }
    }

    private long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(node.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    private long redisPid() {
        return Long.parseLong(redisInfo("server", "process_id"));
    }

    private String redisInfo(String section, String field) {
        for (String line : bulk("INFO", section).split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).strip();
            }
        }
        throw new IllegalStateException("no " + field);
    }

    /** Calls per command from INFO commandstats, plus "*" for all. */
    /**
     * The node's counters named {@code names} from its {@code /metrics} (absent ones as 0); a build without a
     * counter reports 0 for it.
     */
    private Map<String, Long> nodeCounters(String... names) {
        Map<String, Long> values = new HashMap<>();
        try {
            var http = java.net.http.HttpClient.newHttpClient();
            String body = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            for (String line : body.split("\n")) {
                for (String name : names) {
                    if (line.startsWith(name + " ")) {
                        values.put(name, (long) Double.parseDouble(line.substring(name.length() + 1).strip()));
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return values;
    }

    /** "deliveries per write: …", from the node's counters before and after, or what is missing. */
    private String perWrite(Map<String, Long> before) {
        Map<String, Long> after = nodeCounters(DELIVERIES, LIVE_WRITES);
        double writes = delta(after, before, LIVE_WRITES);
        if (writes <= 0) {
            return "deliveries per write: not counted by this build";
        }
        return String.format(Locale.ROOT, "deliveries per write: %.2f (%,.0f writes)", delta(after, before, DELIVERIES) / writes, writes);
    }

    private static final String DELIVERIES = "alimi_deliveries_total";
    private static final String LIVE_WRITES = "alimi_live_writes_total";

    private Map<String, Long> redisCalls() {
        Map<String, Long> calls = new HashMap<>();
        long total = 0;
        for (String line : bulk("INFO", "commandstats").split("\r\n")) {
            if (line.startsWith("cmdstat_")) {
                String name = line.substring(8, line.indexOf(':'));
                long n = Long.parseLong(line.replaceAll("^[^:]*:calls=(\\d+),.*", "$1"));
                calls.put(name, n);
                total += n;
            }
        }
        calls.put("*", total);
        return calls;
    }

    /** A bulk-string reply of a Redis command, read over a plain socket. */
    private String bulk(String... words) {
        try (Socket socket = new Socket("127.0.0.1", redis.port())) {
            StringBuilder request = new StringBuilder("*" + words.length + "\r\n");
            for (String word : words) {
                request.append('$').append(word.length()).append("\r\n").append(word).append("\r\n");
            }
            socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            StringBuilder header = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                header.append((char) c);
            }
            int length = Integer.parseInt(header.toString().strip().substring(1));
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The node's live heap by class, from {@code jcmd GC.class_histogram} (which runs a full GC first). */
    private record Heap(long total, Map<String, Long> byClass) {
        Map<String, Double> perClassDelta(Heap before, int count) {
            Map<String, Double> delta = new LinkedHashMap<>();
            byClass.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), (e.getValue() - before.byClass.getOrDefault(e.getKey(), 0L)) / (double) count))
                    .sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
                    .forEach(e -> delta.put(e.getKey(), e.getValue()));
            return delta;
        }
    }

    private Heap heap() throws Exception {
        Process jcmd = new ProcessBuilder(Path.of(javaHome, "bin", "jcmd").toString(), Long.toString(node.pid()),
                "GC.class_histogram").redirectErrorStream(true).start();
        String output = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor();
        Map<String, Long> byClass = new HashMap<>();
        long total = 0;
        for (String line : output.split("\n")) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length >= 4 && parts[0].endsWith(":")) {
                byClass.merge(parts[3], Long.parseLong(parts[2]), Long::sum);
            } else if (parts.length >= 3 && parts[0].equals("Total")) {
                total = Long.parseLong(parts[2]);
            }
        }
        return new Heap(total, byClass);
    }
}

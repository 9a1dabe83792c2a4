package io.alimi.bench;

import io.alimi.support.KafkaBroker;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisLink;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code scripts/bench-ingest}: events per second from Kafka through the bridge into Redis, and through
 * {@code POST /v1/events}, on one machine: redis-server (production redis.conf: AOF, fsync every second), a
 * KRaft broker and the load client in this JVM, and Alimi as its own process ({@code java -jar target/alimi.jar},
 * exactly as deployed).
 *
 * <p>Bridge figures count an event as done when the bridge has committed its offset, which it does only after
 * every target is appended in Redis; the run then checks every stream's length: nothing lost, nothing doubled.
 */
public final class IngestBench {

    private static final int MALLS = 1_000;
    private static final int ADMINS = 5_000;
    private static final int PARTNERS = 200;
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(5);

    private final Map<String, String> options;
    private final int events;
    private final int runs;
    private final int partitions;
    private final String nodeHeap;
    /** Events each node handles before the clock starts: JIT compilation is not what we measure. */
    private final int warmup;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private RedisProcess redis;
    private KafkaBroker kafka;
    private RedisLink redisConnection;
    private long redisPid;
    private final AtomicInteger runCounter = new AtomicInteger();

    private IngestBench(Map<String, String> options) {
        this.options = options;
        this.events = Integer.parseInt(options.getOrDefault("--events", "500000"));
        this.runs = Integer.parseInt(options.getOrDefault("--runs", "3"));
        this.partitions = Integer.parseInt(options.getOrDefault("--partitions", "8"));
        this.nodeHeap = options.getOrDefault("--node-heap", "1g");
        this.warmup = Integer.parseInt(options.getOrDefault("--warmup", "100000"));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = BenchOptions.parse(args);
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/bench-ingest [--events N] [--warmup N] [--runs R] [--partitions P] [--http-events N]
                                                [--http-connections C] [--node-heap 1g] [--only all|bridge|backlog|capacity|hot|sdk|receiving|live|http]
                                                [--jar target/alimi.jar] [--receivers 10000] [--receive-rate 10] [--redis-keys 0]
                                                [--node-jvm-opts "..."] [--ALIMI_<SETTING> value ...]
                    Defaults: 500000 measured events per bridge run after 100000 warm-up events, 3 runs per
                    scenario (median reported), 8 partitions, 200000 HTTP events over 32 keep-alive connections
                    (400000 in batches of 100); receiving: 10000 SSE connections, 10 events/s each. --ALIMI_* options are
                    passed to the node as environment.""");
            return;
        }
        new IngestBench(options).run();
    }

    private void run() throws Exception {
        Path work = Files.createTempDirectory("alimi-bench-");
        // Interrupted (Ctrl-C, kill): take the node and redis-server we started down with us.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
        Path jar = Path.of(options.getOrDefault("--jar", "target/alimi.jar"));
        if (!Files.exists(jar)) {
            throw new IllegalStateException("target/alimi.jar is missing; scripts/bench-ingest builds it first");
        }
        redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--save", ""));
        kafka = KafkaBroker.start(work.resolve("kafka"), Ports.free(), Ports.free());
        try (RedisConnector connector = RedisConnector.create(redis.url(), Duration.ofSeconds(30))) {
            redisConnection = connector.connect(Duration.ofSeconds(5));
            System.out.printf(Locale.ROOT, "# Alimi ingest benchmark, %s, %d cores, Java %s, Redis %s%n", LocalDate.now(),
                    Runtime.getRuntime().availableProcessors(), Runtime.version(), redis.version());
            System.out.printf(Locale.ROOT, "# %,d measured events per bridge run after %,d warm-up, %d partitions, %d runs per scenario; node -Xmx%s%n",
                    events, warmup, partitions, runs, nodeHeap);
            long filler = Long.parseLong(options.getOrDefault("--redis-keys", "0"));
            if (filler > 0) {
                fill(filler);
            }
            System.out.println();
            List<String> table = new ArrayList<>();
            String only = options.getOrDefault("--only", "all");
            int httpEvents = Integer.parseInt(options.getOrDefault("--http-events", "200000"));
            int connections = Integer.parseInt(options.getOrDefault("--http-connections", "32"));
            if (only.equals("all") || only.equals("bridge") || only.equals("backlog")) {
                table.add(scenario("bridge, backlog, 1 target", () -> bridgeBacklog(1)));
                table.add(scenario("bridge, backlog, 4 targets", () -> bridgeBacklog(4)));
            }
            if (only.equals("all") || only.equals("bridge") || only.equals("capacity")) {
                table.add(scenario("bridge, backlog, 1,000 scopes at capacity", this::bridgeScopesAtCapacity));
            }
            if (only.equals("all") || only.equals("bridge") || only.equals("hot")) {
                table.add(scenario("bridge, backlog, one hot scope at capacity", () -> bridgeHot(true, Shape.LEAN)));
                table.add(scenario("bridge, backlog, one hot scope below capacity", () -> bridgeHot(false, Shape.LEAN)));
                table.add(scenario("HTTP, 100 events per request, one hot scope at capacity, " + connections + " connections",
                        () -> http(httpEvents * 2, 100, connections, true)));
            }
            if (only.equals("all") || only.equals("sdk")) {
                table.add(scenario("bridge, backlog, one hot scope at capacity, SDK structured mode",
                        () -> bridgeHot(true, Shape.SDK_STRUCTURED)));
                table.add(scenario("bridge, backlog, one hot scope at capacity, SDK binary mode",
                        () -> bridgeHot(true, Shape.SDK_BINARY)));
                table.add(scenario("bridge, backlog, one hot scope below capacity, SDK structured mode",
                        () -> bridgeHot(false, Shape.SDK_STRUCTURED)));
            }
            if (only.equals("all") || only.equals("receiving")) {
                int receivers = Integer.parseInt(options.getOrDefault("--receivers", "10000"));
                int receiveRate = Integer.parseInt(options.getOrDefault("--receive-rate", "10"));
                table.add(scenario(String.format(Locale.ROOT, "bridge, backlog, 1 target, while %,d SSE connections receive %d events/s",
                        receivers, receiveRate), () -> bridgeWhileReceiving(receivers, receiveRate)));
            }
            if (only.equals("all") || only.equals("bridge") || only.equals("live")) {
                table.add(scenario("bridge, live (producer running), 1 target", () -> bridgeLive(1)));
            }
            if (only.equals("all") || only.equals("http")) {
                table.add(scenario("HTTP, 1 event per request, " + connections + " connections", () -> http(httpEvents, 1, connections, false)));
                table.add(scenario("HTTP, 100 events per request, " + connections + " connections", () -> http(httpEvents * 2, 100, connections, false)));
            }
            if (table.isEmpty()) {
                throw new IllegalArgumentException("--only takes all, bridge, backlog, capacity, hot, sdk, receiving, live or http");
            }
            System.out.println();
            System.out.println("| scenario | events/s (median) | runs | node CPU s per 100k events | redis CPU s per 100k events | notes |");
            System.out.println("|---|---|---|---|---|---|");
            table.forEach(System.out::println);
            redisConnection.close();
        } finally {
            kafka.stop();
            redis.stop();
        }
    }

    /** One measured run. */
    record Result(double eventsPerSecond, double nodeCpuPer100k, double redisCpuPer100k, String note) {
    }

    interface Run {
        Result run() throws Exception;
    }

    private String scenario(String name, Run run) throws Exception {
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            Result result = run.run();
            System.out.printf(Locale.ROOT, "%-52s run %d: %,10.0f events/s   node %.2f CPU s/100k   redis %.2f CPU s/100k   %s%n",
                    name, i + 1, result.eventsPerSecond(), result.nodeCpuPer100k(), result.redisCpuPer100k(), result.note());
            results.add(result);
        }
        double[] rates = results.stream().mapToDouble(Result::eventsPerSecond).sorted().toArray();
        Result median = results.stream().filter(r -> r.eventsPerSecond() == rates[rates.length / 2]).findFirst().orElseThrow();
        StringBuilder all = new StringBuilder();
        for (Result r : results) {
            all.append(all.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%,.0f", r.eventsPerSecond()));
        }
        return String.format(Locale.ROOT, "| %s | **%,.0f** | %s | %.2f | %.2f | %s |", name, median.eventsPerSecond(), all,
                median.nodeCpuPer100k(), median.redisCpuPer100k(), median.note());
    }

    // Bridge

    private Result bridgeBacklog(int targets) throws Exception {
        Backlog backlog = backlog(i -> targets(i, targets), Shape.LEAN, Map.of());
        assertAllStored(backlog.prefix(), backlog.scopes(), (long) backlog.total() * targets);
        return backlog.progress().result("backlog of " + String.format(Locale.ROOT, "%,d", backlog.total())
                + "; clock starts after the first " + String.format(Locale.ROOT, "%,d", warmup) + "; lost 0, duplicated 0");
    }

    /**
     * The backlog over 1,000 malls with their streams at capacity: max length 100 (1,000 malls at the default
     * 10,000 would need 3 GB of Redis here), reached by every mall within the warm-up (100 events each), so every
     * measured append runs retention.
     */
    private Result bridgeScopesAtCapacity() throws Exception {
        int maxLength = 100;
        Backlog backlog = backlog(i -> targets(i, 1), Shape.LEAN, Map.of("ALIMI_TIMELINE_MAX_LENGTH", Integer.toString(maxLength)));
        assertRetained(backlog.prefix(), backlog.scopes(), backlog.total(), maxLength);
        return backlog.progress().result(String.format(Locale.ROOT, "%,d scopes at capacity (%d kept each); backlog of %,d, "
                + "clock after the first %,d; lost 0, duplicated 0", backlog.scopes().size(), maxLength, backlog.total(), warmup));
    }

    /**
     * Every event to one scope, {@code mall:hot}: a sale, a platform notice. At capacity, the stream reaches its
     * max length (10,000, the default) within the warm-up and every append after that runs retention; below
     * capacity, the max length is raised above the run's total, so retention never runs.
     */
    private Result bridgeHot(boolean atCapacity, Shape shape) throws Exception {
        int maxLength = atCapacity ? 10_000 : warmup + events + 1_000;
        Backlog backlog = backlog(i -> HOT, shape, Map.of("ALIMI_TIMELINE_MAX_LENGTH", Integer.toString(maxLength)));
        assertRetained(backlog.prefix(), backlog.scopes(), backlog.total(), maxLength);
        return backlog.progress().result((atCapacity ? "at capacity: " + String.format(Locale.ROOT, "%,d", maxLength) + " kept, trimmed every"
                + " 100 appends" : "below capacity") + "; backlog of " + String.format(Locale.ROOT, "%,d", backlog.total())
                + ", clock after the first " + String.format(Locale.ROOT, "%,d", warmup) + "; lost 0, duplicated 0"
                + (shape == Shape.LEAN ? "" : "; " + shape.description));
    }

    /**
     * The 1-target backlog taken by a node that also serves {@code receivers} SSE connections (the relay and the
     * bridge in one process, as a small deployment runs them), each receiving {@code rate} events a second
     * published over HTTP to {@code all}. The receivers are admins of malls the backlog does not target, so the
     * fan-out is the broadcast's alone. The clock starts once every connection is ready and the broadcast runs
     * (and the warm-up is committed); at the end every connection must have received every broadcast event.
     */
    private Result bridgeWhileReceiving(int receivers, int rate) throws Exception {
        Topic topic = newTopic();
        int total = warmup + events;
        Set<String> scopes = produce(topic.name(), 0, total, i -> targets(i, 1), Shape.LEAN);
        Path tokens = Files.createTempFile("alimi-bench-receivers-", ".json");
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < RECEIVING_ADMINS; i++) {
            json.append(i == 0 ? "" : ",").append("\"").append(receiverToken(i)).append("\":{\"adminNo\":\"r")
                    .append(i).append("\",\"malls\":[\"r").append(i % 100).append("\"]}");
        }
        Files.writeString(tokens, json.append("}").toString());
        Map<String, String> env = new HashMap<>(topic.bridgeEnv());
        env.put("ALIMI_AUTH_DEV_TOKENS_FILE", tokens.toString());
        env.putAll(LoadLimits.LIFTED);
        String[] sources = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
        java.util.concurrent.atomic.AtomicBoolean receiving = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong broadcast = new java.util.concurrent.atomic.AtomicLong();
        try (Node node = Node.start(this, "relay,bridge", env); SseLoad load = new SseLoad()) {
            java.util.concurrent.CompletableFuture<Void> audience = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    load.open(node.port, receivers, sources, i -> ("GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Authorization: Bearer " + receiverToken(i % RECEIVING_ADMINS) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                    while (load.ready() < receivers) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("only " + load.ready() + " of " + receivers + " connections got ready");
                        }
                        Thread.sleep(5);
                    }
                    load.record(true);
                    broadcast(node.port, rate, receiving, done, broadcast);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, task -> Thread.ofVirtual().name("bench-audience").start(task));
            Progress progress;
            try {
                progress = awaitCommitted(topic, warmup, total, node, receiving::get);
            } catch (IllegalStateException notStarted) {
                if (audience.isCompletedExceptionally()) {
                    audience.join(); // why the clock never started: the connections or the broadcast failed
                }
                throw notStarted;
            } finally {
                done.set(true);
            }
            audience.join();
            long expected = broadcast.get() * receivers;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (load.events() < expected && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertAllStored(topic.prefix(), scopes, total);
            long lost = expected - load.events();
            String latency = receivers == 0 ? "" : String.format(Locale.ROOT, ", publish->receive p50 %.0f ms, p99 %.0f ms",
                    load.latency().percentileMillis(0.5), load.latency().percentileMillis(0.99));
            return progress.result(String.format(Locale.ROOT, "backlog of %,d, clock after the first %,d and all %,d connections ready; "
                    + "lost 0, duplicated 0; broadcast: %,d events, %,d deliveries, lost %,d", total, warmup, receivers,
                    broadcast.get(), load.events(), lost) + latency);
        }
    }

    /** Admins the receiving connections are spread over (connection i is admin i mod this). */
    private static final int RECEIVING_ADMINS = 1_000;

    private static String receiverToken(int i) {
        return "bench-receiver-" + i + "-token";
    }

    /**
     * Publishes {@code rate} events a second to {@code all} over one keep-alive HTTP connection until {@code done},
     * counting what was accepted; {@code receiving} is set once the first is.
     */
    private static void broadcast(int port, int rate, java.util.concurrent.atomic.AtomicBoolean receiving,
                                  java.util.concurrent.atomic.AtomicBoolean done, java.util.concurrent.atomic.AtomicLong accepted)
            throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        long interval = Duration.ofSeconds(1).toNanos() / rate;
        long start = System.nanoTime();
        for (long i = 0; !done.get(); i++) {
            long wait = start + i * interval - System.nanoTime();
            if (wait > 0) {
                java.util.concurrent.TimeUnit.NANOSECONDS.sleep(wait);
            }
            String body = "{\"specversion\":\"1.0\",\"id\":\"r-" + start + "-" + i + "\",\"source\":\"/bench\","
                    + "\"type\":\"bench.tick\",\"targets\":\"all\",\"data\":{\"t\":" + System.nanoTime() + "}}";
            HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                    .header("Content-Type", "application/cloudevents+json").header("X-Api-Key", Node.API_KEY)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() / 100 != 2) {
                throw new IllegalStateException("broadcast publish answered " + answer.statusCode() + ": " + answer.body());
            }
            accepted.incrementAndGet();
            receiving.set(true);
        }
    }

    /** A bridge run's topic, of {@link #partitions} partitions, and its key prefix; read by its own group. */
    private record Topic(String name, String prefix) {

        String group() {
            return "g-" + name;
        }

        /** What a node bridging this topic into its own keys is configured with. */
        Map<String, String> bridgeEnv() {
            return Map.of("ALIMI_BRIDGE_TOPIC", name, "ALIMI_BRIDGE_GROUP", group(), "ALIMI_REDIS_KEY_PREFIX", prefix);
        }
    }

    /** A new topic and key prefix for the next bridge run. */
    private Topic newTopic() {
        int run = runCounter.incrementAndGet();
        Topic topic = new Topic("bench-" + run, "b" + run + ":");
        kafka.createTopic(topic.name(), partitions);
        return topic;
    }

    /** A bridge run over a backlog: its key prefix, the scopes its events went to, how many, and its progress. */
    private record Backlog(String prefix, Set<String> scopes, int total, Progress progress) {
    }

    /**
     * Fills a new topic with {@code warmup + events} records, each to the targets {@code targetsOf} gives, then
     * starts a bridge node (with {@code env} besides its topic, group and key prefix) and waits until it has
     * committed them all; the clock starts after the warm-up.
     */
    private Backlog backlog(java.util.function.IntFunction<String> targetsOf, Shape shape, Map<String, String> env) throws Exception {
        Topic topic = newTopic();
        int total = warmup + events;
        Set<String> scopes = produce(topic.name(), 0, total, targetsOf, shape);
        Map<String, String> nodeEnv = new HashMap<>(env);
        nodeEnv.putAll(topic.bridgeEnv());
        try (Node node = Node.start(this, "bridge", nodeEnv)) {
            return new Backlog(topic.prefix(), scopes, total, awaitCommitted(topic, warmup, total, node));
        }
    }

    /**
     * After {@code total} distinct events spread evenly over {@code scopes} with retention at {@code maxLength}:
     * every stream holds what retention keeps (all of its events below capacity, else max length to max length plus
     * slack), and every event has its dedup record, so none was lost and none appended twice.
     */
    private void assertRetained(String prefix, Set<String> scopes, long total, int maxLength) throws Exception {
        long expected = Math.min(total / scopes.size(), maxLength);
        long slack = Math.min(100, Math.max(1, maxLength / 100));
        var async = redisConnection.async();
        List<RedisFuture<Long>> lengths = new ArrayList<>();
        for (String scope : scopes) {
            lengths.add(async.xlen(prefix + "tl:{" + scope + "}"));
        }
        for (RedisFuture<Long> length : lengths) {
            long value = length.get();
            if (value < expected || value >= expected + slack) {
                throw new IllegalStateException("a stream holds " + value + " entries, expected " + expected);
            }
        }
        long recorded = countKeys(prefix + "tl:{*}:sid:*");
        if (recorded != total) {
            throw new IllegalStateException(recorded + " events recorded as appended, expected exactly " + total);
        }
    }

    private static final String HOT = "mall:hot";

    /**
     * {@code --redis-keys N}: N keys shaped like a busy deployment's dedup records (a short string with a day to
     * live, under a prefix no run uses) stored before the first scenario, so every run appends to a Redis that
     * already holds them. Pipelined, 10,000 at a time.
     */
    private void fill(long count) throws Exception {
        long start = System.nanoTime();
        var async = redisConnection.async();
        byte[] value = "1".getBytes(StandardCharsets.US_ASCII);
        io.lettuce.core.SetArgs ttl = io.lettuce.core.SetArgs.Builder.px(Duration.ofDays(1).toMillis());
        List<RedisFuture<String>> batch = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            batch.add(async.set("filler:tl:{mall:" + (i % MALLS) + "}:sid:" + Long.toHexString(i * 0x9E3779B97F4A7C15L), value, ttl));
            if (batch.size() == 10_000 || i == count - 1) {
                for (RedisFuture<String> set : batch) {
                    set.get();
                }
                batch.clear();
            }
        }
        System.out.printf(Locale.ROOT, "# Redis filled with %,d keys like dedup records (a day to live) in %.1f s; it holds %,d%n",
                count, (System.nanoTime() - start) / 1e9, redisConnection.sync().dbsize());
    }

    private long countKeys(String pattern) {
        var sync = redisConnection.sync();
        long count = 0;
        io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
        do {
            io.lettuce.core.KeyScanCursor<String> page = sync.scan(cursor, io.lettuce.core.ScanArgs.Builder.matches(pattern).limit(10_000));
            count += page.getKeys().size();
            cursor = page;
        } while (!cursor.isFinished());
        return count;
    }

    private Result bridgeLive(int targets) throws Exception {
        Topic topic = newTopic();
        try (Node node = Node.start(this, "bridge", topic.bridgeEnv())) {
            Set<String> scopes = produce(topic.name(), 0, warmup, targets);
            awaitCommitted(topic, 0, warmup, node);
            long cpu0 = node.cpuMillis();
            long redisCpu0 = cpuMillis(redisPid());
            long start = System.nanoTime();
            scopes.addAll(produce(topic.name(), warmup, warmup + events, targets));
            Progress progress = awaitCommitted(topic, 0, warmup + events, node);
            double seconds = (progress.doneNanos() - start) / 1e9;
            assertAllStored(topic.prefix(), scopes, (long) (warmup + events) * targets);
            return new Result(events / seconds, per100k(node.cpuMillis() - cpu0, events), per100k(cpuMillis(redisPid()) - redisCpu0, events),
                    "producer sending meanwhile; from first send to last commit; lost 0, duplicated 0");
        }
    }

    private Set<String> produce(String topic, int from, int to, int targets) throws Exception {
        return produce(topic, from, to, i -> targets(i, targets), Shape.LEAN);
    }

    /**
     * How the backlog's events are written: the benchmark's own lean JSON, or by the official CloudEvents Java SDK
     * (structured: one JSON document with {@code content-type: application/cloudevents+json}; binary: {@code ce_*}
     * headers and the data as the value), as a domain service using the SDK sends them: {@code time} with
     * nanoseconds and an offset, {@code datacontenttype}, the order as a JSON object.
     */
    enum Shape {
        LEAN("lean JSON"),
        SDK_STRUCTURED("events written by the CloudEvents Java SDK 4.0.1, structured mode"),
        SDK_BINARY("events written by the CloudEvents Java SDK 4.0.1, binary mode (ce_* headers)");

        final String description;

        Shape(String description) {
            this.description = description;
        }
    }

    private ProducerRecord<byte[], byte[]> record(String topic, int i, String targetList, Shape shape) {
        byte[] key = Integer.toString(i % MALLS).getBytes(StandardCharsets.UTF_8);
        String id = topic + "-" + i;
        if (shape == Shape.LEAN) {
            return new ProducerRecord<>(topic, key, event(id, targetList).getBytes(StandardCharsets.UTF_8));
        }
        io.cloudevents.CloudEvent event = io.cloudevents.core.builder.CloudEventBuilder.v1()
                .withId(id)
                .withSource(URI.create("https://orders.mall.example/orders"))
                .withType("order.created")
                .withTime(java.time.OffsetDateTime.of(2026, 12, 2, 9, 30, i % 60, 100_000_000 + (int) ((i * 7919L) % 900_000_000),
                        java.time.ZoneOffset.ofHours(9)))
                .withDataContentType("application/json")
                .withExtension("targets", targetList)
                .withData(orderData(id).getBytes(StandardCharsets.UTF_8))
                .build();
        var writer = io.cloudevents.kafka.KafkaMessageFactory.<byte[]>createWriter(topic, key);
        return shape == Shape.SDK_BINARY ? writer.writeBinary(event)
                : writer.writeStructured(event, new io.cloudevents.jackson.JsonFormat());
    }

    private Set<String> produce(String topic, int from, int to, java.util.function.IntFunction<String> targetsOf, Shape shape) throws Exception {
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.BATCH_SIZE_CONFIG, 128 * 1024,
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        Set<String> scopes = new LinkedHashSet<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = from; i < to; i++) {
                String targetList = targetsOf.apply(i);
                if (scopes.size() < MALLS + ADMINS + PARTNERS) {
                    scopes.addAll(Arrays.asList(targetList.split(",")));
                }
                producer.send(record(topic, i, targetList, shape));
            }
            producer.flush();
        }
        return scopes;
    }

    /** A realistic order event of about 330 bytes. */
    static String event(String id, String targets) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/orders\",\"type\":\"order.created\","
                + "\"targets\":\"" + targets + "\",\"time\":\"2026-11-25T09:30:00+09:00\",\"datacontenttype\":\"application/json\","
                + "\"data\":" + orderData(id) + "}";
    }

    /** The order an event carries, as JSON. */
    static String orderData(String id) {
        return "{\"orderNo\":\"2026112500" + id.hashCode() + "\",\"productName\":\"겨울 패딩 점퍼\",\"amount\":129000,"
                + "\"buyer\":\"홍*동\",\"link\":\"/orders/" + id + "\"}";
    }

    static String targets(int i, int count) {
        String mall = "mall:" + (i % MALLS);
        return switch (count) {
            case 1 -> mall;
            case 4 -> mall + ",admin:" + (i % ADMINS) + ",partner:" + (i % PARTNERS) + ",admin:" + ((i + 1) % ADMINS);
            default -> throw new IllegalArgumentException("1 or 4 targets");
        };
    }

    record Progress(long firstNanos, long firstCount, long doneNanos, long total, long nodeCpuFirst, long nodeCpuDone,
                    long redisCpuFirst, long redisCpuDone) {

        Result result(String note) {
            double seconds = (doneNanos - firstNanos) / 1e9;
            long measured = total - firstCount;
            return new Result(measured / seconds, per100k(nodeCpuDone - nodeCpuFirst, measured),
                    per100k(redisCpuDone - redisCpuFirst, measured), note);
        }
    }

    /**
     * Polls the bridge group's committed offsets until they reach {@code total}. The clock starts at the first
     * commit seen at or past {@code startAt} (warm-up, group join and first fetch are not throughput), the count
     * with what was committed then.
     */
    private Progress awaitCommitted(Topic topic, long startAt, long total, Node node) throws Exception {
        return awaitCommitted(topic, startAt, total, node, () -> true);
    }

    /** As above, the clock starting only once {@code armed} also holds; an error if the run ends before. */
    private Progress awaitCommitted(Topic topic, long startAt, long total, Node node,
                                    java.util.function.BooleanSupplier armed) throws Exception {
        try (Admin admin = kafka.admin()) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(topic.name(), p), OffsetSpec.latest());
            }
            long end = 0;
            for (ListOffsetsResult.ListOffsetsResultInfo info : admin.listOffsets(latest).all().get().values()) {
                end += info.offset();
            }
            if (end < total) {
                throw new IllegalStateException("topic holds " + end + " records, expected " + total);
            }
            long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
            long firstNanos = 0;
            long firstCount = 0;
            long nodeCpuFirst = 0;
            long redisCpuFirst = 0;
            while (System.nanoTime() < deadline) {
                long committed = 0;
                for (OffsetAndMetadata offset : admin.listConsumerGroupOffsets(topic.group()).partitionsToOffsetAndMetadata().get().values()) {
                    if (offset != null) {
                        committed += offset.offset();
                    }
                }
                long now = System.nanoTime();
                if (committed > 0 && committed >= startAt && firstNanos == 0 && committed < total && armed.getAsBoolean()) {
                    firstNanos = now;
                    firstCount = committed;
                    nodeCpuFirst = node.cpuMillis();
                    redisCpuFirst = cpuMillis(redisPid());
                }
                if (committed >= total) {
                    if (firstNanos == 0) {
                        throw new IllegalStateException("the bridge committed all " + total + " records before the clock "
                                + "could start (the run's conditions were not ready): raise --events");
                    }
                    return new Progress(firstNanos, firstCount, now, total, nodeCpuFirst, node.cpuMillis(),
                            redisCpuFirst, cpuMillis(redisPid()));
                }
                Thread.sleep(10);
            }
            throw new IllegalStateException("the bridge did not commit " + total + " records within " + RUN_TIMEOUT);
        }
    }

    private void assertAllStored(String prefix, Set<String> scopes, long expected) throws Exception {
        RedisClusterAsyncCommands<String, byte[]> async = redisConnection.async();
        List<RedisFuture<Long>> lengths = new ArrayList<>();
        for (String scope : scopes) {
            lengths.add(async.xlen(prefix + "tl:{" + scope + "}"));
        }
        long stored = 0;
        for (RedisFuture<Long> length : lengths) {
            stored += length.get();
        }
        if (stored != expected) {
            throw new IllegalStateException("stored " + stored + " entries, expected exactly " + expected);
        }
    }

    // HTTP

    /**
     * Posts {@code total} events, {@code perRequest} a request, over {@code connections}; {@code hot}: every event
     * to {@code mall:hot}, whose stream the warm-up fills past its max length (10,000), so every measured append
     * runs retention.
     */
    private Result http(int total, int perRequest, int connections, boolean hot) throws Exception {
        int run = runCounter.incrementAndGet();
        String prefix = "h" + run + ":";
        try (Node node = Node.start(this, "relay", Map.of("ALIMI_REDIS_KEY_PREFIX", prefix))) {
            int warmRequests = Math.max(1, Math.max(warmup / 10, hot ? 12_000 : 0) / perRequest);
            HttpLoad.run(node.port, connections, warmRequests, i -> request("w" + run, i, perRequest, hot));
            int requests = total / perRequest;
            byte[][] prepared = new byte[requests][];
            for (int r = 0; r < requests; r++) {
                prepared[r] = request("h" + run, r, perRequest, hot);
            }
            long cpu0 = node.cpuMillis();
            long redisCpu0 = cpuMillis(redisPid());
            long clientCpu0 = cpuMillis(ProcessHandle.current().pid());
            HttpLoad.Outcome outcome = HttpLoad.run(node.port, connections, requests, r -> prepared[r]);
            long clientCpu = cpuMillis(ProcessHandle.current().pid()) - clientCpu0;
            long posted = (long) requests * perRequest + (long) warmRequests * perRequest;
            if (hot) {
                assertRetained(prefix, Set.of(HOT), posted, 10_000);
            } else {
                Set<String> scopes = new LinkedHashSet<>();
                for (int m = 0; m < MALLS; m++) {
                    scopes.add("mall:" + m);
                }
                assertAllStored(prefix, scopes, posted);
            }
            String note = String.format(Locale.ROOT, "%,d requests; latency p50 %.2f ms, p99 %.2f ms, max %.1f ms; "
                            + "load client %.2f CPU s/100k; lost 0", requests, outcome.percentileMillis(0.5),
                    outcome.percentileMillis(0.99), outcome.percentileMillis(1.0), per100k(clientCpu, total));
            return new Result(total / outcome.seconds(), per100k(node.cpuMillis() - cpu0, total),
                    per100k(cpuMillis(redisPid()) - redisCpu0, total), note);
        }
    }

    /** Request {@code r}: {@code perRequest} events, one to mall:(i % MALLS) each, or all to {@link #HOT}. */
    private static byte[] request(String idPrefix, int r, int perRequest, boolean hot) {
        StringBuilder body = new StringBuilder(perRequest > 1 ? "[" : "");
        for (int e = 0; e < perRequest; e++) {
            int i = r * perRequest + e;
            body.append(e == 0 ? "" : ",").append(event(idPrefix + "-" + i, hot ? HOT : targets(i, 1)));
        }
        if (perRequest > 1) {
            body.append(']');
        }
        return HttpLoad.post("/v1/events", perRequest > 1 ? "application/cloudevents-batch+json" : "application/cloudevents+json",
                Node.API_KEY, body.toString());
    }

    /** CPU seconds spent per 100,000 events. */
    static double per100k(long cpuMillis, long count) {
        return cpuMillis / 1000.0 * 100_000.0 / count;
    }

    // Processes

    private long redisPid() {
        if (redisPid == 0) {
            for (String line : redisConnection.sync().info("server").split("\r\n")) {
                if (line.startsWith("process_id:")) {
                    redisPid = Long.parseLong(line.substring("process_id:".length()).strip());
                }
            }
        }
        return redisPid;
    }

    /** User + system CPU time of a process, in milliseconds (Linux /proc). */
    static long cpuMillis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10;
        } catch (IOException e) {
            return 0;
        }
    }

    /** An Alimi node as its own process, started from the production jar. */
    static final class Node implements AutoCloseable {
        static final String API_KEY = "bench-publisher-key-0001";
        final Process process;
        final int port;

        private Node(Process process, int port) {
            this.process = process;
            this.port = port;
        }

        static Node start(IngestBench bench, String roles, Map<String, String> env) throws Exception {
            int port = Ports.free();
            List<String> command = new ArrayList<>(List.of(bench.javaBin, "-Xmx" + bench.nodeHeap));
            for (String option : bench.options.getOrDefault("--node-jvm-opts", "").split(" ")) {
                if (!option.isBlank()) {
                    command.add(option);
                }
            }
            command.addAll(List.of("-jar", bench.options.getOrDefault("--jar", "target/alimi.jar")));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(Files.createTempFile("alimi-bench-node-", ".log").toFile());
            builder.environment().putAll(Map.of(
                    "ALIMI_ROLES", roles,
                    "ALIMI_HTTP_PORT", Integer.toString(port),
                    "ALIMI_HTTP_HOST", "127.0.0.1",
                    "ALIMI_REDIS_URL", bench.redis.url(),
                    "ALIMI_KAFKA_BOOTSTRAP", bench.kafka.bootstrap(),
                    "ALIMI_PUBLISH_API_KEYS", "bench=" + API_KEY));
            builder.environment().putAll(env);
            for (Map.Entry<String, String> option : bench.options.entrySet()) {
                if (option.getKey().startsWith("--ALIMI_")) {
                    builder.environment().put(option.getKey().substring(2), option.getValue());
                }
            }
            Node node = new Node(builder.start(), port);
            HttpClient client = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                try {
                    HttpResponse<String> ready = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (ready.statusCode() == 200) {
                        return node;
                    }
                } catch (IOException notYet) {
                    // still starting
                }
                if (!node.process.isAlive() || System.nanoTime() > deadline) {
                    node.close();
                    throw new IllegalStateException("the Alimi node did not become ready");
                }
                Thread.sleep(50);
            }
        }

        long cpuMillis() {
            return IngestBench.cpuMillis(process.pid());
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}

package io.alimi.bench;

import io.alimi.support.KafkaBroker;
import io.alimi.support.Ports;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code scripts/drill}: failover drills on one machine, counted per client.
 *
 * <p>Each run starts redis-server (production redis.conf, AOF on), a topic on the Kafka broker inside this JVM, a
 * bridge and three relays as their own processes from the production jar, and thousands of SSE clients
 * ({@link DrillClients}) spread over the relays and over many loopback source addresses. Events are published to
 * Kafka at a steady rate to targets chosen so that every client has a known expected set ({@link DrillPlan}).
 * Then one disruption:
 * <ul>
 *   <li>{@code kill}: {@code kill -9} of one relay; its clients resume on the others;</li>
 *   <li>{@code rolling}: each relay in turn gets SIGTERM (it drains: its clients are told to reconnect
 *       elsewhere), is started again and is ready before the next;</li>
 *   <li>{@code redis}: redis-server is stopped and started again on the same port and data (AOF) while Kafka keeps
 *       receiving events; the bridge and the relays' tailers must recover by themselves;</li>
 *   <li>{@code storm}: every connection is cut at once and every client reconnects at once.</li>
 * </ul>
 * After publishing, each client's received events are compared with its expected set: any event lost, received
 * twice or received by a client that does not follow its scopes, and any {@code gap}, fails the run (exit 1).
 */
public final class FailoverDrill {

    private static final List<String> SCENARIOS = List.of("kill", "rolling", "redis", "storm");
    private static final int RELAYS = 3;

    private final Map<String, String> options;
    private final int runs;
    private final int rate;
    private final int seconds;
    private final int disruptAt;
    private final int settle;
    private final int perAddress;
    private final int attachRate;
    private KafkaBroker kafka;

    private FailoverDrill(Map<String, String> options) {
        this.options = options;
        this.runs = integer("--runs", 1);
        this.rate = integer("--rate", 20);
        this.seconds = integer("--seconds", 30);
        this.disruptAt = integer("--disrupt-at", 10);
        this.settle = integer("--settle", 90);
        this.perAddress = integer("--per-address", 20);
        this.attachRate = integer("--attach-rate", 1_200);
    }

    private int integer(String option, int fallback) {
        return Integer.parseInt(options.getOrDefault(option, Integer.toString(fallback)));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = BenchOptions.parse(args);
        if (Arrays.asList(args).contains("--help")) {
            System.out.println("""
                    Usage: scripts/drill [--scenario kill|rolling|redis|storm|all] [--clients 3000] [--storm-clients 10000]
                                         [--runs 1] [--rate 20] [--seconds 30] [--disrupt-at 10] [--redis-down 5]
                                         [--settle 90] [--per-address 20] [--attach-rate 1200] [--node-heap 512m]
                                         [--node-jvm-opts "..."] [--ALIMI_<SETTING> value ...]
                    Three relays, a bridge, Redis (AOF) and Kafka on loopback; SSE clients spread over the relays and
                    over 127.1.x.y source addresses (--per-address clients each); events through Kafka at --rate per
                    second for --seconds, the disruption at --disrupt-at seconds. Every client's events are counted:
                    exit 1 if any was lost, duplicated, unexpected or reported as a gap, or if not all clients caught
                    up within --settle seconds after publishing ended. --ALIMI_* options go to every node's
                    environment.""");
            return;
        }
        System.exit(new FailoverDrill(options).run() ? 0 : 1);
    }

    private boolean run() throws Exception {
        String scenario = options.getOrDefault("--scenario", "all");
        List<String> chosen = scenario.equals("all") ? SCENARIOS : List.of(scenario);
        if (!SCENARIOS.containsAll(chosen)) {
            throw new IllegalArgumentException("--scenario takes kill, rolling, redis, storm or all");
        }
        if (!Files.exists(Path.of("target/alimi.jar"))) {
            throw new IllegalStateException("target/alimi.jar is missing; scripts/drill builds it first");
        }
        Path work = Files.createTempDirectory("alimi-drill-");
        // Whatever happens (failure, Ctrl-C, kill, halt): stop, by PID, every process this drill started.
        DrillProcesses.guard(work);
        System.out.printf(Locale.ROOT, "# Alimi failover drill, %s, commit %s, %d cores, Java %s; work folder %s%n", LocalDate.now(),
                commit(), Runtime.getRuntime().availableProcessors(), Runtime.version(), work);
        kafka = KafkaBroker.start(work.resolve("kafka"), Ports.free(), Ports.free());
        List<Result> results = new ArrayList<>();
        try {
            for (String name : chosen) {
                for (int run = 1; run <= runs; run++) {
                    Result result;
                    try {
                        result = scenario(name, run, work.resolve(name + "-" + run));
                    } catch (Exception | AssertionError e) {
                        System.out.println("RUN FAILED: " + name + " run " + run + ": " + e);
                        e.printStackTrace(System.out);
                        result = Result.failed(name, run, e.toString());
                    }
                    results.add(result);
                }
            }
        } finally {
            kafka.stop();
        }
        System.out.println();
        System.out.println("| scenario | run | clients | events | deliveries expected | lost | duplicated | unexpected | gaps | resumes | refused or failed connects (after attaching) | resume p50 / p99 / max | all caught up after | result |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        results.forEach(r -> System.out.println(r.row()));
        if (runs > 1) {
            System.out.println();
            System.out.println("| scenario | runs passed | resume p50 / p99 / max (medians) | all caught up after (median) |");
            System.out.println("|---|---|---|---|");
            for (String name : chosen) {
                List<Result> of = results.stream().filter(r -> r.scenario().equals(name) && r.totals() != null).toList();
                System.out.printf(Locale.ROOT, "| %s | %d of %d | %s | %s |%n", name, of.stream().filter(Result::passed).count(), runs,
                        of.stream().allMatch(r -> r.resume() == null) ? "—" : String.format(Locale.ROOT, "%.2f / %.2f / %.2f s",
                                median(of.stream().filter(r -> r.resume() != null).mapToDouble(r -> r.resume()[0]).toArray()),
                                median(of.stream().filter(r -> r.resume() != null).mapToDouble(r -> r.resume()[1]).toArray()),
                                median(of.stream().filter(r -> r.resume() != null).mapToDouble(r -> r.resume()[2]).toArray())),
                        String.format(Locale.ROOT, "%.2f s", median(of.stream().mapToDouble(Result::caughtUp).toArray())));
            }
        }
        boolean passed = results.stream().allMatch(Result::passed);
        if (passed) {
            deleteQuietly(work);
        } else {
            System.out.println("Logs and data kept in " + work);
        }
        System.out.println(passed ? "ALL PASSED" : "FAILED");
        return passed;
    }

    /** One scenario run, with its own cluster, topic and plan. */
    private Result scenario(String name, int run, Path work) throws Exception {
        Files.createDirectories(work);
        int clients = name.equals("storm") ? integer("--storm-clients", 10_000) : integer("--clients", 3_000);
        String tag = name + "-" + run + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt());
        String idPrefix = "drill-" + tag + "-";
        // Rolling restarts take as long as they take: room for ten minutes of events.
        DrillPlan plan = new DrillPlan(clients, rate * Math.max(seconds + 60, 600), idPrefix);
        Path tokens = work.resolve("tokens.json");
        plan.writeTokens(tokens);
        String[] sources = new String[clients];
        for (int i = 0; i < clients; i++) {
            int address = i / perAddress;
            sources[i] = "127.1." + (address / 250) + "." + (1 + address % 250);
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "## %s, run %d: %,d SSE clients on %d relays (%d source addresses), %d events/s through Kafka%n",
                name, run, clients, RELAYS, (clients + perAddress - 1) / perAddress, rate);
        try (DrillCluster cluster = DrillCluster.start(work, kafka, tokens, RELAYS, tag, options);
             Publisher publisher = new Publisher(kafka.producer(), cluster.topic, plan, rate);
             DrillClients pool = new DrillClients(plan, cluster.relayPorts(), sources, publisher::published, idPrefix)) {
            log("cluster up: redis %s, bridge pid %d, relays %s", cluster.redis.url(), cluster.bridge.pid(),
                    cluster.relays.stream().map(n -> n.name + " pid " + n.pid() + " :" + n.port).toList());
            warmUp(cluster, publisher);
            long attachStart = System.nanoTime();
            pool.attach(attachRate);
            awaitStreaming(pool, clients, Duration.ofSeconds(180));
            // Attaching thousands of clients is a storm of its own: its refusals are not the disruption's.
            Map<String, Integer> atAttach = pool.refusals();
            log("all %,d clients streaming after %.1f s: %s per relay; refused or failed while attaching: %s", clients,
                    (System.nanoTime() - attachStart) / 1e9, Arrays.toString(pool.streamingByRelay()), atAttach);

            Progress progress = new Progress(pool, publisher);
            publisher.start();
            long started = System.nanoTime();
            List<DrillClients.Mark> marks = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            switch (name) {
                case "kill" -> {
                    sleepUntil(started, disruptAt, progress);
                    int[] held = pool.streamingByRelay();
                    long pid = cluster.relays.get(0).pid();
                    marks.add(pool.markResumeOnRelay("kill", System.nanoTime(), 0));
                    cluster.kill(0);
                    notes.add(String.format(Locale.ROOT, "relay-0 (pid %d) killed with SIGKILL at %.1f s holding %,d clients",
                            pid, (System.nanoTime() - started) / 1e9, held[0]));
                    log(notes.getLast());
                    sleepUntil(started, seconds, progress);
                }
                case "rolling" -> {
                    sleepUntil(started, disruptAt, progress);
                    for (int r = 0; r < RELAYS; r++) {
                        int[] held = pool.streamingByRelay();
                        long pid = cluster.relays.get(r).pid();
                        DrillClients.Mark mark = pool.markResumeOnRelay("rolling relay-" + r, System.nanoTime(), r);
                        marks.add(mark);
                        Duration exit = cluster.terminate(r);
                        Duration back = cluster.restart(r);
                        boolean caughtUp = mark.await(System.nanoTime() + TimeUnit.SECONDS.toNanos(settle));
                        notes.add(String.format(Locale.ROOT, "relay-%d (pid %d, %,d clients): SIGTERM, exited after %.1f s, "
                                        + "ready again after %.1f s (pid %d); its clients caught up after %s", r, pid, held[r],
                                exit.toMillis() / 1e3, back.toMillis() / 1e3, cluster.relays.get(r).pid(),
                                caughtUp ? String.format(Locale.ROOT, "%.1f s", mark.seconds()) : "(not within " + settle + " s)"));
                        log(notes.getLast());
                        long pause = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        while (System.nanoTime() < pause) {
                            progress.maybePrint();
                            Thread.sleep(100);
                        }
                    }
                }
                case "redis" -> {
                    sleepUntil(started, disruptAt, progress);
                    long stop = System.nanoTime();
                    cluster.redis.stop();
                    int down = integer("--redis-down", 5);
                    log("redis-server stopped (SIGTERM) at %.1f s; starting it again in %d s", (stop - started) / 1e9, down);
                    long restartAt = stop + TimeUnit.SECONDS.toNanos(down);
                    while (System.nanoTime() < restartAt) {
                        progress.maybePrint();
                        Thread.sleep(100);
                    }
                    cluster.redis.start();
                    DrillProcesses.refresh();
                    long back = System.nanoTime();
                    marks.add(pool.markHorizon("redis", back, publisher.published()));
                    notes.add(String.format(Locale.ROOT, "redis-server down from %.1f s to %.1f s (same port, same AOF); "
                            + "%,d clients lost their stream meanwhile", (stop - started) / 1e9, (back - started) / 1e9, pool.lost()));
                    log(notes.getLast());
                    sleepUntil(started, seconds, progress);
                }
                case "storm" -> {
                    sleepUntil(started, disruptAt, progress);
                    marks.add(pool.dropAll("storm", 0));
                    notes.add(String.format(Locale.ROOT, "all %,d connections cut at %.1f s; every client reconnects at once",
                            clients, (System.nanoTime() - started) / 1e9));
                    log(notes.getLast());
                    sleepUntil(started, seconds, progress);
                }
                default -> throw new IllegalArgumentException(name);
            }
            publisher.stopPublishing();
            int total = publisher.published();
            long publishEnd = System.nanoTime();
            log("published %,d events in %.1f s; waiting for every client to catch up (at most %d s)", total,
                    (publishEnd - started) / 1e9, settle);
            DrillClients.Mark all = pool.markHorizon("final", publishEnd, total);
            long deadline = publishEnd + TimeUnit.SECONDS.toNanos(settle);
            while (!all.done() && System.nanoTime() < deadline) {
                progress.maybePrint();
                Thread.sleep(50);
            }
            for (DrillClients.Mark mark : marks) {
                mark.await(deadline);
            }
            DrillClients.Totals totals = pool.totals(total);
            Histogram resume = pool.resumeTimes();
            double caughtUp = marks.stream().mapToDouble(DrillClients.Mark::seconds).max().orElse(0);
            boolean allCaughtUp = all.done() && marks.stream().allMatch(DrillClients.Mark::done);

            System.out.println();
            notes.forEach(note -> System.out.println("disruption: " + note));
            System.out.printf(Locale.ROOT, "events published: %,d; deliveries expected %,d, received %,d (%,d delivered in all)%n",
                    total, totals.expected(), totals.received(), pool.deliveries());
            System.out.printf(Locale.ROOT, "lost %,d (clients missing events: %,d), duplicated %,d (clients: %,d), unexpected %,d "
                            + "(clients: %,d), gaps %,d; clients not streaming at the end: %,d%n",
                    totals.lost(), totals.clientsMissing(), totals.duplicates(), totals.clientsWithDuplicates(),
                    totals.unexpected(), totals.clientsWithUnexpected(), totals.gaps(), totals.notStreaming());
            totals.examples().forEach(example -> System.out.println("  " + example));
            Map<String, Integer> refused = minus(pool.refusals(), atAttach);
            System.out.printf(Locale.ROOT, "connections lost %,d, resumed %,d; refused or failed connects after attaching: %s%n",
                    pool.lost(), pool.resumes(), refused);
            if (resume.count() > 0) {
                System.out.printf(Locale.ROOT, "time to resume (connection lost -> ready on a relay): p50 %.2f s, p99 %.2f s, max %.2f s (%,d resumes)%n",
                        seconds(resume, 0.5), seconds(resume, 0.99), resume.maxMillis() / 1e3, resume.count());
                Histogram[] parts = pool.resumeBreakdown();
                System.out.printf(Locale.ROOT, "  of which lost -> TCP connected: p10 %.2f s, p50 %.2f s, p99 %.2f s; lost -> response head: p10 %.2f s, p50 %.2f s, p99 %.2f s%n",
                        parts[0].percentileMillis(0.1) / 1e3, parts[0].percentileMillis(0.5) / 1e3, parts[0].percentileMillis(0.99) / 1e3,
                        parts[1].percentileMillis(0.1) / 1e3, parts[1].percentileMillis(0.5) / 1e3, parts[1].percentileMillis(0.99) / 1e3);
            }
            for (DrillClients.Mark mark : marks) {
                System.out.printf(Locale.ROOT, "%s: %,d clients concerned, all caught up after %s%n", mark.name, mark.affected,
                        mark.done() ? String.format(Locale.ROOT, "%.2f s", mark.seconds()) : "NOT within the deadline");
            }
            System.out.printf(Locale.ROOT, "after publishing ended, every client had everything after %s%n",
                    all.done() ? String.format(Locale.ROOT, "%.2f s", all.seconds()) : "NOT within " + settle + " s");
            for (int r = 0; r < RELAYS; r++) {
                if (cluster.relays.get(r).process.isAlive()) {
                    List<String> metrics = cluster.metrics(r, "alimi_limit_refusals_total", "alimi_gaps_total",
                            "alimi_slow_consumer_disconnects_total");
                    if (!metrics.isEmpty()) {
                        System.out.println("relay-" + r + " metrics: " + String.join("; ", metrics));
                    }
                }
            }
            boolean passed = totals.clean() && allCaughtUp && publisher.failure() == null;
            if (publisher.failure() != null) {
                System.out.println("publisher failed: " + publisher.failure());
            }
            System.out.println("RESULT: " + (passed ? "PASS" : "FAIL"));
            return new Result(name, run, clients, total, totals, pool.resumes(), refused,
                    resume.count() == 0 ? null : new double[] {seconds(resume, 0.5), seconds(resume, 0.99), resume.maxMillis() / 1e3},
                    caughtUp, passed, null);
        }
    }

    private static Map<String, Integer> minus(Map<String, Integer> all, Map<String, Integer> before) {
        Map<String, Integer> after = new java.util.TreeMap<>();
        all.forEach((cause, n) -> {
            int since = n - before.getOrDefault(cause, 0);
            if (since > 0) {
                after.put(cause, since);
            }
        });
        return after;
    }

    private static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static String commit() {
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
            String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return git.waitFor() == 0 ? out : "unknown";
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }

    /** A percentile in seconds; never above the maximum (a percentile is read as its bucket's upper edge). */
    private static double seconds(Histogram histogram, double p) {
        return Math.min(histogram.percentileMillis(p), histogram.maxMillis()) / 1e3;
    }

    /** The bridge is consuming (one event is through to Redis) before anything is measured. */
    private void warmUp(DrillCluster cluster, Publisher publisher) throws Exception {
        publisher.sendRaw("admin:drill-warmup", "{\"specversion\":\"1.0\",\"id\":\"warmup\",\"source\":\"/drill\","
                + "\"type\":\"drill.warmup\",\"targets\":\"admin:drill-warmup\"}");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!cluster.redis.command("XLEN", "alimi:tl:{admin:drill-warmup}").equals(":1")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the bridge did not consume within 60 s; see " + cluster.bridge.log);
            }
            Thread.sleep(50);
        }
    }

    private static void awaitStreaming(DrillClients pool, int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pool.streaming() < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + pool.streaming() + " of " + count + " clients streaming after "
                        + timeout + "; refused or failed: " + pool.refusals());
            }
            Thread.sleep(20);
        }
    }

    private static void sleepUntil(long started, int second, Progress progress) throws InterruptedException {
        long until = started + TimeUnit.SECONDS.toNanos(second);
        while (System.nanoTime() < until) {
            progress.maybePrint();
            Thread.sleep(Math.max(1, Math.min(100, (until - System.nanoTime()) / 1_000_000)));
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf(Locale.ROOT, "%s  %s%n", java.time.LocalTime.now().format(java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss")), String.format(Locale.ROOT, format, args));
    }

    /** A line every 5 s while a run goes on. */
    private static final class Progress {
        private final DrillClients pool;
        private final Publisher publisher;
        private long next = System.nanoTime();

        Progress(DrillClients pool, Publisher publisher) {
            this.pool = pool;
            this.publisher = publisher;
        }

        void maybePrint() {
            if (System.nanoTime() - next >= 0) {
                next += TimeUnit.SECONDS.toNanos(5);
                log("published %,d; streaming %,d; delivered %,d; lost %,d, resumed %,d; refused or failed %s",
                        publisher.published(), pool.streaming(), pool.deliveries(), pool.lost(), pool.resumes(), pool.refusals());
            }
        }
    }

    /** Publishes the plan's events to Kafka at a steady rate, each acknowledged before the next is counted. */
    private static final class Publisher implements AutoCloseable {
        private final Producer<byte[], byte[]> producer;
        private final String topic;
        private final DrillPlan plan;
        private final int rate;
        private final AtomicInteger published = new AtomicInteger();
        private volatile boolean publishing = true;
        private volatile Exception failure;
        private Thread thread;

        Publisher(Producer<byte[], byte[]> producer, String topic, DrillPlan plan, int rate) {
            this.producer = producer;
            this.topic = topic;
            this.plan = plan;
            this.rate = rate;
        }

        void sendRaw(String key, String json) throws Exception {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8))).get();
        }

        void start() {
            thread = Thread.ofPlatform().name("drill-publisher").start(() -> {
                long start = System.nanoTime();
                long interval = TimeUnit.SECONDS.toNanos(1) / rate;
                try {
                    for (int k = 0; publishing && k < plan.maxEvents(); k++) {
                        long wait = start + k * interval - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                        if (!publishing) {
                            return;
                        }
                        sendRaw(plan.targets(k).key(), plan.json(k));
                        published.set(k + 1);
                    }
                } catch (Exception e) {
                    failure = e;
                }
            });
        }

        int published() {
            return published.get();
        }

        Exception failure() {
            return failure;
        }

        void stopPublishing() throws InterruptedException {
            publishing = false;
            if (thread != null) {
                thread.join(30_000);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stopPublishing();
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** One run's figures, for the closing table. */
    private record Result(String scenario, int run, int clients, int events, DrillClients.Totals totals, int resumes,
                          Map<String, Integer> refusals, double[] resume, double caughtUp, boolean passed, String error) {

        static Result failed(String scenario, int run, String error) {
            return new Result(scenario, run, 0, 0, null, 0, Map.of(), null, Double.NaN, false, error);
        }

        String row() {
            if (totals == null) {
                return String.format(Locale.ROOT, "| %s | %d | | | | | | | | | | | | FAILED: %s |", scenario, run, error);
            }
            int refused = refusals.values().stream().mapToInt(Integer::intValue).sum();
            return String.format(Locale.ROOT, "| %s | %d | %,d | %,d | %,d | %,d | %,d | %,d | %,d | %,d | %,d %s | %s | %s | %s |",
                    scenario, run, clients, events, totals.expected(), totals.lost(), totals.duplicates(), totals.unexpected(),
                    totals.gaps(), resumes, refused, refusals.isEmpty() ? "" : refusals.toString(),
                    resume == null ? "—" : String.format(Locale.ROOT, "%.2f / %.2f / %.2f s", resume[0], resume[1], resume[2]),
                    Double.isNaN(caughtUp) ? "not within the deadline" : String.format(Locale.ROOT, "%.2f s", caughtUp),
                    passed ? "pass" : "FAIL");
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder: left for the system to clean
        }
    }
}

package io.alimi.bench;

import io.alimi.support.KafkaBroker;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a drill runs against, all on loopback: redis-server (production redis.conf, AOF on, its data in the run's
 * folder), a topic on the drill's Kafka broker, one bridge and several relays, each its own process started from
 * the production jar ({@code java -jar target/alimi.jar}, configured by environment variables as deployed).
 *
 * <p>Every process started here is a child of the drill's JVM, which {@link DrillProcesses} stops by PID however
 * the drill ends.
 */
final class DrillCluster implements AutoCloseable {

    static final String API_KEY = "drill-publisher-key-0001";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    private final Map<String, String> options;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    final RedisProcess redis;
    final String topic;
    final Node bridge;
    final List<Node> relays = new ArrayList<>();

    /** One Alimi process, restartable on the same port with the same settings. */
    static final class Node {
        final String name;
        final int port;
        final Map<String, String> env;
        final Path log;
        volatile Process process;

        Node(String name, int port, Map<String, String> env, Path log) {
            this.name = name;
            this.port = port;
            this.env = env;
            this.log = log;
        }

        long pid() {
            return process.pid();
        }
    }

    private DrillCluster(Map<String, String> options, RedisProcess redis, String topic, Node bridge) {
        this.options = options;
        this.redis = redis;
        this.topic = topic;
        this.bridge = bridge;
    }

    /**
     * Starts Redis, then the bridge and {@code relayCount} relays (in parallel), and returns once all are ready.
     *
     * @param tokens the development tokens file the relays identify clients with
     */
    static DrillCluster start(Path work, KafkaBroker kafka, Path tokens, int relayCount, String tag,
                              Map<String, String> options) throws Exception {
        RedisProcess redis = RedisProcess.start(work.resolve("redis"), Ports.free(),
                List.of(Path.of("redis/redis.conf").toAbsolutePath().toString(), "--appendonly", "yes", "--save", ""));
        DrillProcesses.refresh();
        DrillCluster cluster = null;
        try {
            String topic = "drill-" + tag;
            kafka.createTopic(topic, 4);
            kafka.createTopic(topic + ".dlq", 1);
            Map<String, String> common = new LinkedHashMap<>();
            common.put("ALIMI_HTTP_HOST", "127.0.0.1");
            common.put("ALIMI_REDIS_URL", redis.url());
            common.put("ALIMI_PUBLISH_API_KEYS", "drill=" + API_KEY);
            for (Map.Entry<String, String> option : options.entrySet()) {
                if (option.getKey().startsWith("--ALIMI_")) {
                    common.put(option.getKey().substring(2), option.getValue());
                }
            }
            Map<String, String> bridgeEnv = new LinkedHashMap<>(common);
            bridgeEnv.put("ALIMI_ROLES", "bridge");
            bridgeEnv.put("ALIMI_KAFKA_BOOTSTRAP", kafka.bootstrap());
            bridgeEnv.put("ALIMI_BRIDGE_TOPIC", topic);
            bridgeEnv.put("ALIMI_BRIDGE_GROUP", "g-" + topic);
            bridgeEnv.put("ALIMI_BRIDGE_DEAD_LETTER_TOPIC", topic + ".dlq");
            cluster = new DrillCluster(options, redis, topic, node("bridge", bridgeEnv, work));
            for (int i = 0; i < relayCount; i++) {
                Map<String, String> relayEnv = new LinkedHashMap<>(common);
                relayEnv.put("ALIMI_ROLES", "relay");
                relayEnv.put("ALIMI_AUTH_DEV_TOKENS_FILE", tokens.toString());
                cluster.relays.add(node("relay-" + i, relayEnv, work));
            }
            cluster.launch(cluster.bridge);
            for (Node relay : cluster.relays) {
                cluster.launch(relay);
            }
            cluster.awaitReady(cluster.bridge);
            for (Node relay : cluster.relays) {
                cluster.awaitReady(relay);
            }
            return cluster;
        } catch (Exception | Error e) {
            if (cluster != null) {
                cluster.close();
            } else {
                redis.stop();
            }
            throw e;
        }
    }

    private static Node node(String name, Map<String, String> env, Path work) {
        int port = Ports.free();
        env.put("ALIMI_HTTP_PORT", Integer.toString(port));
        return new Node(name, port, Map.copyOf(env), work.resolve(name + ".log"));
    }

    int[] relayPorts() {
        return relays.stream().mapToInt(n -> n.port).toArray();
    }

    private List<String> jvmOptions() {
        List<String> jvm = new ArrayList<>();
        jvm.add("-Xmx" + options.getOrDefault("--node-heap", "512m"));
        for (String option : options.getOrDefault("--node-jvm-opts", "").split(" ")) {
            if (!option.isBlank()) {
                jvm.add(option);
            }
        }
        return jvm;
    }

    private void launch(Node node) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(javaBin);
        command.addAll(jvmOptions());
        command.addAll(List.of("-jar", "target/alimi.jar"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(node.log.toFile()));
        builder.environment().putAll(node.env);
        node.process = builder.start();
        DrillProcesses.refresh();
    }

    /** Waits until the node answers {@code /health/ready} with 200. */
    private void awaitReady(Node node) throws Exception {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            try {
                HttpResponse<Void> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/health/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (ready.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            if (!node.process.isAlive()) {
                throw new IllegalStateException(node.name + " exited with " + node.process.exitValue() + "; see " + node.log);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(node.name + " did not become ready in " + READY_TIMEOUT + "; see " + node.log);
            }
            Thread.sleep(50);
        }
    }

    /** {@code kill -9} of relay {@code i}: no drain, no goodbye; returns once it is gone. */
    void kill(int i) throws InterruptedException {
        Process process = relays.get(i).process;
        process.destroyForcibly();
        process.waitFor();
    }

    /**
     * SIGTERM to relay {@code i}, as an orchestrator stops a node: it tells its clients to reconnect elsewhere,
     * drains, stops. Returns how long it took to exit.
     */
    Duration terminate(int i) throws InterruptedException {
        Process process = relays.get(i).process;
        long start = System.nanoTime();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException(relays.get(i).name + " did not stop within 60 s of SIGTERM; see " + relays.get(i).log);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** Starts relay {@code i} again, same port and settings; returns once it is ready. */
    Duration restart(int i) throws Exception {
        long start = System.nanoTime();
        launch(relays.get(i));
        awaitReady(relays.get(i));
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** The relay's {@code /metrics} lines that start with one of {@code prefixes} and do not end in 0. */
    List<String> metrics(int i, String... prefixes) {
        List<String> lines = new ArrayList<>();
        try {
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relays.get(i).port + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (String line : body.split("\n")) {
                for (String prefix : prefixes) {
                    if (line.startsWith(prefix) && !line.endsWith(" 0") && !line.endsWith(" 0.0")) {
                        lines.add(line);
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            lines.add("(metrics unavailable: " + e.getMessage() + ")");
        }
        return lines;
    }

    /** Stops every process of this cluster: nodes with SIGTERM (SIGKILL after 30 s), then Redis. */
    @Override
    public void close() {
        List<Node> nodes = new ArrayList<>(relays);
        nodes.add(bridge);
        for (Node node : nodes) {
            if (node.process != null && node.process.isAlive()) {
                node.process.destroy();
            }
        }
        for (Node node : nodes) {
            if (node.process != null) {
                try {
                    if (!node.process.waitFor(30, TimeUnit.SECONDS)) {
                        node.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    node.process.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
        }
        redis.stop();
    }
}

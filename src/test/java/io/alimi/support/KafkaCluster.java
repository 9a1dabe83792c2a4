package io.alimi.support;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Three real KRaft nodes (each broker and controller) in this JVM, node ids 1 to 3, one controller quorum, for
 * tests of what happens while one of them is down.
 *
 * <p>Topics and the internal topics (offsets, transaction state) are replicated on all three nodes with
 * {@code min.insync.replicas=2}: with any one node stopped, acks=all writes and offset commits still succeed.
 * {@link #stop(int)} is a controlled shutdown that keeps the node's log directory; {@link #start(int)} brings it
 * back with its data.
 */
public final class KafkaCluster implements AutoCloseable {

    public static final int SIZE = 3;
    /** The longest a node may take to start or stop; Kafka's own waits have no deadline. */
    private static final long NODE_TIMEOUT_SECONDS = 60;
    private static final Map<String, String> TUNING = Map.of(
            // Heartbeats drive registration, unfencing and controlled shutdown: at the default 2 s they are most
            // of a node's start and stop time.
            "broker.heartbeat.interval.ms", "500",
            // A restarted node may register again only once its previous session has expired (default 9 s).
            "broker.session.timeout.ms", "3000");

    private final Path dir;
    private final List<KafkaNode> nodes;

    private KafkaCluster(Path dir, List<KafkaNode> nodes) {
        this.dir = dir;
        this.nodes = nodes;
    }

    /** A throw-away cluster on free ports, its logs under a fresh temporary directory deleted by {@link #close()}. */
    public static KafkaCluster startEphemeral() {
        Path dir;
        try {
            dir = Files.createTempDirectory("alimi-kafka-cluster-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int[] ports = new int[SIZE];
        int[] controllerPorts = new int[SIZE];
        List<String> voters = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            ports[i] = Ports.free();
            controllerPorts[i] = Ports.free();
            voters.add(KafkaNode.voter(i + 1, controllerPorts[i]));
        }
        String clusterId = Uuid.randomUuid().toString();
        List<KafkaNode> nodes = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            nodes.add(new KafkaNode(i + 1, dir.resolve("node-" + (i + 1)), ports[i], controllerPorts[i],
                    String.join(",", voters), clusterId, SIZE, TUNING));
        }
        KafkaCluster cluster = new KafkaCluster(dir, List.copyOf(nodes));
        try {
            // A node's start returns once it is unfenced, which takes a quorum: all three start together.
            onEach(cluster.nodes, KafkaNode::start);
            KafkaAdmin.awaitBrokers(cluster.bootstrap(), SIZE);
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    /** All three brokers, so a client can bootstrap whichever node is down. */
    public String bootstrap() {
        return String.join(",", nodes.stream().map(KafkaNode::address).toList());
    }

    /** Stops node {@code id} (1 to 3) with a controlled shutdown; its data stays for {@link #start(int)}. */
    public void stop(int id) {
        onEach(List.of(node(id)), KafkaNode::stop);
    }

    /** Starts node {@code id} again on its data, returning once all three brokers are up. */
    public void start(int id) {
        onEach(List.of(node(id)), KafkaNode::start);
        KafkaAdmin.awaitBrokers(bootstrap(), SIZE);
    }

    public Admin admin() {
        return KafkaAdmin.create(bootstrap());
    }

    /** Creates the topic on all three nodes if it does not exist yet, returning once every partition has a leader. */
    public void createTopic(String name, int partitions) {
        KafkaAdmin.createTopic(bootstrap(), new NewTopic(name, partitions, (short) SIZE));
    }

    /** An idempotent acks=all producer: a leader change neither loses nor duplicates what it sends. */
    public Producer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 5), new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * Stops every node and deletes the logs. The nodes stop together, while their brokers can still reach the
     * active controller; the last controller leader still waits Kafka's fixed 5 s for a successor (and logs that
     * its graceful shutdown failed).
     */
    @Override
    public void close() {
        try {
            onEach(nodes, KafkaNode::stop);
        } finally {
            delete(dir);
        }
    }

    private KafkaNode node(int id) {
        if (id < 1 || id > SIZE) {
            throw new IllegalArgumentException("node ids are 1 to " + SIZE + ": " + id);
        }
        return nodes.get(id - 1);
    }

    /** Runs {@code action} on each node, all at once, each on its own thread, failing after the node timeout. */
    private static void onEach(List<KafkaNode> nodes, Consumer<KafkaNode> action) {
        List<CompletableFuture<Void>> all = nodes.stream()
                .map(node -> CompletableFuture.runAsync(() -> action.accept(node),
                        runnable -> Thread.ofPlatform().daemon().name("kafka-node-" + node.id()).start(runnable)))
                .toList();
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(NODE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a Kafka node failed", e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka nodes did not finish in " + NODE_TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}

package io.alimi.support;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.utils.Time;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * One KRaft node, broker and controller in one, inside this JVM: the part {@link KafkaBroker} and
 * {@link KafkaCluster} share.
 *
 * <p>Its log directory is formatted with {@link StorageTool} on first start and kept by {@link #stop()}, so a
 * later {@link #start()} resumes with every topic, record and committed offset. {@link #start()} returns once
 * the broker is unfenced, which needs a controller quorum: the first start of a multi-node quorum must run
 * concurrently with its peers'.
 */
final class KafkaNode {

    private final int id;
    private final Path logDir;
    private final int port;
    private final String clusterId;
    private final Properties properties;
    private KafkaRaftServer server;

    /**
     * @param voters      {@code controller.quorum.voters}, e.g. {@code 1@127.0.0.1:9093,2@127.0.0.1:9095}
     * @param replication replication factor of new and internal topics; {@code min.insync.replicas} is one less
     *                    (at least 1), so one node may be down and acks=all writes still succeed
     * @param overrides   broker properties set last, over the defaults here
     */
    KafkaNode(int id, Path logDir, int port, int controllerPort, String voters, String clusterId, int replication,
              Map<String, String> overrides) {
        this.id = id;
        this.logDir = logDir;
        this.port = port;
        this.clusterId = clusterId;
        this.properties = properties(id, logDir, port, controllerPort, voters, replication);
        this.properties.putAll(overrides);
    }

    /** {@code <id>@127.0.0.1:<controllerPort>}: this node's entry in {@code controller.quorum.voters}. */
    static String voter(int id, int controllerPort) {
        return id + "@127.0.0.1:" + controllerPort;
    }

    int id() {
        return id;
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            Files.createDirectories(logDir);
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                format();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        KafkaRaftServer starting = new KafkaRaftServer(new KafkaConfig(properties), Time.SYSTEM);
        starting.startup();
        server = starting;
    }

    /** A controlled shutdown: leadership moves to the other nodes first, the log directory stays. */
    synchronized void stop() {
        if (server == null) {
            return;
        }
        server.shutdown();
        server.awaitShutdown();
        server = null;
    }

    private static Properties properties(int id, Path logDir, int port, int controllerPort, String voters,
                                         int replication) {
        String factor = Integer.toString(replication);
        String minIsr = Integer.toString(Math.max(1, replication - 1));
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", Integer.toString(id));
        props.put("controller.quorum.voters", voters);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("num.partitions", "1");
        props.put("default.replication.factor", factor);
        props.put("min.insync.replicas", minIsr);
        props.put("offsets.topic.replication.factor", factor);
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", factor);
        props.put("transaction.state.log.min.isr", minIsr);
        props.put("share.coordinator.state.topic.replication.factor", factor);
        props.put("share.coordinator.state.topic.min.isr", minIsr);
        props.put("group.initial.rebalance.delay.ms", "0");
        // The cleaner's dedupe buffer defaults to 128 MB of heap; compacted topics here are tiny.
        props.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
        props.put("log.cleaner.threads", "1");
        props.put("num.network.threads", "2");
        props.put("num.io.threads", "2");
        props.put("auto.create.topics.enable", "true");
        return props;
    }

    private void format() throws IOException {
        Path config = logDir.resolveSibling(logDir.getFileName() + ".properties");
        try (Writer writer = Files.newBufferedWriter(config)) {
            properties.store(writer, "alimi test kafka node " + id);
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int status = StorageTool.execute(new String[] {
                "format", "-t", clusterId, "-c", config.toString(), "--ignore-formatted"},
                new PrintStream(output, true, StandardCharsets.UTF_8));
        if (status != 0) {
            throw new IllegalStateException("kafka storage format failed: " + output.toString(StandardCharsets.UTF_8));
        }
    }
}

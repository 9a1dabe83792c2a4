package io.alimi.support;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.file.Path;
import java.util.Map;

/**
 * A real single-node Kafka (KRaft, broker and controller in one) running inside this JVM.
 *
 * <p>The log directory is formatted with {@link kafka.tools.StorageTool} on first use; starting again on a
 * formatted directory keeps every topic and committed offset.
 */
public final class KafkaBroker implements AutoCloseable {

    private final KafkaNode node;

    private KafkaBroker(Path logDir, int port, int controllerPort) {
        this.node = new KafkaNode(1, logDir, port, controllerPort, KafkaNode.voter(1, controllerPort),
                Uuid.randomUuid().toString(), 1, Map.of());
    }

    /** A throw-away broker on free ports with its log in a fresh temporary directory. */
    public static KafkaBroker startEphemeral() {
        return start(TempDirs.create("alimi-kafka-"), Ports.free(), Ports.free());
    }

    /** A broker with its log in {@code logDir} (formatted if new) listening on {@code port}. */
    public static KafkaBroker start(Path logDir, int port, int controllerPort) {
        KafkaBroker broker = new KafkaBroker(logDir, port, controllerPort);
        broker.start();
        return broker;
    }

    public String bootstrap() {
        return node.address();
    }

    public void start() {
        node.start();
        KafkaAdmin.awaitBrokers(bootstrap(), 1);
    }

    public void stop() {
        node.stop();
    }

    @Override
    public void close() {
        stop();
    }

    public Admin admin() {
        return KafkaAdmin.create(bootstrap());
    }

    /** Creates the topic if it does not exist yet, returning once every partition has a leader. */
    public void createTopic(String name, int partitions) {
        KafkaAdmin.createTopic(bootstrap(), new NewTopic(name, partitions, (short) 1));
    }

    /**
     * A producer for tests: acks=all, one request in flight (order kept across retries), not idempotent: the
     * in-JVM broker may answer a brand-new partition's first batch with NOT_LEADER, after which an idempotent
     * producer can stall on OUT_OF_ORDER_SEQUENCE. A retried duplicate is harmless: the timeline dedups it.
     */
    public Producer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1,
                ProducerConfig.LINGER_MS_CONFIG, 5), new ByteArraySerializer(), new ByteArraySerializer());
    }
}

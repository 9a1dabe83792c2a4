package io.alimi.bridge;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** The bridge's Kafka clients, configured for at-least-once with manual commits. */
public final class KafkaClients {

    /** Client ids must differ within a JVM (they name JMX beans); a node may run several bridges in tests. */
    private static final AtomicInteger INSTANCE = new AtomicInteger();

    private KafkaClients() {
    }

    static Consumer<byte[], byte[]> consumer(BridgeSettings settings) {
        Map<String, Object> config = new HashMap<>(settings.clientProperties());
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.group());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // A new group starts at the beginning: events published before the first bridge ran are not skipped.
        config.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Events from aborted producer transactions never reach an admin.
        config.putIfAbsent(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "alimi-bridge-" + INSTANCE.incrementAndGet());
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** A producer for the dead-letter topic, or for the demo console's events (same connection settings). */
    public static Producer<byte[], byte[]> producer(BridgeSettings settings) {
        Map<String, Object> config = new HashMap<>(settings.clientProperties());
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // Fail a dead-letter send within seconds when Kafka is away: the batch is retried, not stuck.
        config.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        config.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        config.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        config.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "alimi-bridge-dlq-" + INSTANCE.incrementAndGet());
        return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
    }
}

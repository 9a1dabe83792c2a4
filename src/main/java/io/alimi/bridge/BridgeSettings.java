package io.alimi.bridge;

import java.nio.file.Path;
import java.nio.file.Files;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.Optional;
import java.util.HashMap;
import java.time.Duration;
import java.util.Map;

/**
 * How the bridge consumes.
 *
 * @param bootstrap        Kafka bootstrap servers
 * @param topic            the events topic
 * @param group            the consumer group shared by every bridge instance
 * @param deadLetterTopic  where records that are not valid events go, with the reason in a header
 * @param maxPollRecords   records handled (and committed) together
 * @param retryBackoffMin  first pause after a failed batch; doubles up to {@code retryBackoffMax}, with jitter
 * @param retryBackoffMax  longest pause between attempts
 * @param shutdownTimeout  how long a stopping bridge may spend finishing its batch; after that the batch is left
 *                         uncommitted and will be redelivered (never lost)
 * @param clientProperties extra Kafka client properties (security, tuning), applied to consumer and producer
 */
public record BridgeSettings(String bootstrap, String topic, String group, String deadLetterTopic, int maxPollRecords,
                             Duration retryBackoffMin, Duration retryBackoffMax, Duration shutdownTimeout,
                             Map<String, String> clientProperties) {

    public static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9092";

    /** {@code alimi.kafka.*} and {@code alimi.bridge.*}. */
    public static BridgeSettings from(io.alimi.config.Settings settings) {
        Map<String, String> clientProperties = new HashMap<>();
        Optional<String> file = settings.optionalString("alimi.kafka.properties-file");
        if (file.isPresent()) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(Path.of(file.get()))) {
                properties.load(in);
            } catch (IOException e) {
                throw new io.alimi.config.SettingsException("alimi.kafka.properties-file", "cannot read " + file.get() + ": " + e.getMessage());
            }
            properties.forEach((k, v) -> clientProperties.put(k.toString(), v.toString()));
        }
        Duration backoffMin = settings.duration("alimi.bridge.retry-backoff-min", DEFAULT_RETRY_BACKOFF_MIN,
                Duration.ofMillis(1), Duration.ofMinutes(1));
        return new BridgeSettings(
                settings.string("alimi.kafka.bootstrap", DEFAULT_BOOTSTRAP),
                settings.string("alimi.bridge.topic", DEFAULT_TOPIC),
                settings.string("alimi.bridge.group", DEFAULT_GROUP),
                settings.string("alimi.bridge.dead-letter-topic", DEFAULT_DEAD_LETTER_TOPIC),
                settings.integer("alimi.bridge.max-poll-records", DEFAULT_MAX_POLL_RECORDS, 1, 100_000),
                backoffMin,
                settings.duration("alimi.bridge.retry-backoff-max", DEFAULT_RETRY_BACKOFF_MAX,
                        backoffMin, Duration.ofMinutes(10)),
                settings.duration("alimi.bridge.shutdown-timeout", DEFAULT_SHUTDOWN_TIMEOUT,
                        Duration.ZERO, Duration.ofMinutes(10)),
                clientProperties);
    }

    public static final String DEFAULT_TOPIC = "alimi.events";
    public static final String DEFAULT_GROUP = "alimi-bridge";
    public static final String DEFAULT_DEAD_LETTER_TOPIC = "alimi.events.dlq";
    public static final int DEFAULT_MAX_POLL_RECORDS = 10_000;
    public static final Duration DEFAULT_RETRY_BACKOFF_MIN = Duration.ofMillis(100);
    public static final Duration DEFAULT_RETRY_BACKOFF_MAX = Duration.ofSeconds(5);
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);

    public BridgeSettings {
        clientProperties = Map.copyOf(clientProperties);
    }
}

package io.alimi.bridge;

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

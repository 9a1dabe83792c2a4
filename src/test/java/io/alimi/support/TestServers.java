package io.alimi.support;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real servers shared by one test run: one redis-server process and one KRaft broker, started on first use
 * and stopped when the JVM exits. Tests isolate themselves by key prefix and topic name, never by mocking.
 */
public final class TestServers {

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    private static RedisProcess redis;
    private static KafkaBroker kafka;

    private TestServers() {
    }

    public static synchronized RedisProcess redis() {
        if (redis == null) {
            redis = RedisProcess.startEphemeral();
            RedisProcess started = redis;
            Runtime.getRuntime().addShutdownHook(new Thread(started::stop, "stop-test-redis"));
        }
        return redis;
    }

    public static synchronized KafkaBroker kafka() {
        if (kafka == null) {
            kafka = KafkaBroker.startEphemeral();
            KafkaBroker started = kafka;
            Runtime.getRuntime().addShutdownHook(new Thread(started::stop, "stop-test-kafka"));
        }
        return kafka;
    }

    /** A Redis key prefix no other test uses, e.g. {@code t3a9f1c-17:}. */
    public static String uniquePrefix() {
        return "t" + RUN + "-" + COUNTER.incrementAndGet() + ":";
    }

    /** A Kafka topic name no other test uses. */
    public static String uniqueTopic(String base) {
        return base + "-" + RUN + "-" + COUNTER.incrementAndGet();
    }
}

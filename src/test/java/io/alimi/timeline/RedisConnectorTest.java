package io.alimi.timeline;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisConnectorTest {

    @Test
    void aNodeTriesToReconnectAtLeastEveryTwoSecondsHoweverLongRedisIsAway() {
        try (RedisConnector connector = RedisConnector.create("redis://127.0.0.1:1", Duration.ofSeconds(1))) {
            for (long attempt = 1; attempt <= 100; attempt++) {
                Duration delay = connector.reconnectDelay(attempt);
                assertTrue(delay.compareTo(RedisConnector.MAX_RECONNECT_DELAY) <= 0, "attempt " + attempt + ": " + delay);
            }
            assertTrue(connector.reconnectDelay(1).compareTo(Duration.ofMillis(500)) < 0, "the first attempts come quickly");
        }
    }

    @Test
    void severalRedisUrlsNeedClusterModeAndNoUrlLeaksItsPassword() {
        IllegalArgumentException several = assertThrows(IllegalArgumentException.class,
                () -> RedisConnector.create("redis://:s3cret@a:6379,redis://:s3cret@b:6379", false, Duration.ofSeconds(1)));
        assertTrue(several.getMessage().contains("alimi.redis.cluster=true"), several.getMessage());
        assertTrue(!several.getMessage().contains("s3cret"), several.getMessage());
        IllegalArgumentException database = assertThrows(IllegalArgumentException.class,
                () -> RedisConnector.create("redis://a:6379/2", true, Duration.ofSeconds(1)));
        assertTrue(database.getMessage().contains("database 0"), database.getMessage());
    }
}

package io.alimi.timeline;

import org.junit.jupiter.api.Test;

import java.time.Duration;

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
}

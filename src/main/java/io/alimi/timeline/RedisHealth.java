package io.alimi.timeline;

import io.alimi.observe.Check;
import io.alimi.observe.HealthCheck;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Redis is up when it answers PING on the node's shared connection within a second. */
public final class RedisHealth implements HealthCheck {

    private static final Duration PATIENCE = Duration.ofSeconds(1);

    private final RedisLink connection;
    private final String where;

    public RedisHealth(RedisLink connection, String where) {
        this.connection = connection;
        this.where = where;
    }

    @Override
    public Check check() {
        long start = System.nanoTime();
        try {
            String reply = connection.async().ping().get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            return Check.up("redis", where + " answered " + reply + " in " + millis + " ms");
        } catch (ExecutionException e) {
            return Check.down("redis", where + ": " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            return Check.down("redis", where + " did not answer within " + PATIENCE.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Check.down("redis", "interrupted");
        }
    }
}

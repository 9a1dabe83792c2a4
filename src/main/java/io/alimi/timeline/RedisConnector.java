package io.alimi.timeline;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opens Lettuce connections to one Redis, all with the same failure behaviour: while Redis is unreachable,
 * commands fail at once instead of queueing without bound (callers retry with backoff); once it is back, the
 * connection reconnects by itself within {@link #MAX_RECONNECT_DELAY}; no command waits longer than the command
 * timeout.
 */
public final class RedisConnector implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RedisConnector.class.getName());
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /**
     * The longest pause between two reconnect attempts while Redis is away. Lettuce's default grows to 30 s, so
     * after a restart that took a minute (a large AOF to load) a node stayed away up to 30 s longer than Redis did
     * (seen with scripts/drill). Jittered, so that nodes do not all come back in the same instant.
     */
    static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(2);
    /** Keys are text; values are bytes, so stored envelopes go to and from the wire without re-encoding. */
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

    private final ClientResources resources;
    private final RedisClient client;
    private final RedisURI uri;

    private RedisConnector(RedisURI uri, Duration commandTimeout) {
        this.uri = uri;
        this.resources = DefaultClientResources.builder()
                .reconnectDelay(Delay.equalJitter(Duration.ofMillis(50), MAX_RECONNECT_DELAY, 100, TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .protocolVersion(ProtocolVersion.RESP2)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                // The connection's own timeout (the URI's, or setTimeout): the tailer's blocking XREAD needs longer.
                .timeoutOptions(TimeoutOptions.enabled())
                .build());
    }

    /**
     * @param url {@code redis://[:password@]host:port[/db]} or {@code rediss://…}
     * @throws IllegalArgumentException if the url cannot be parsed; the message never contains the password
     */
    public static RedisConnector create(String url, Duration commandTimeout) {
        RedisURI uri;
        try {
            uri = RedisURI.create(url);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a Redis URL: " + redact(url));
        }
        uri.setTimeout(commandTimeout);
        return new RedisConnector(uri, commandTimeout);
    }

    /**
     * A new connection; retries until {@code patience} runs out, so a node started a moment before Redis still
     * comes up.
     */
    public StatefulRedisConnection<String, byte[]> connect(Duration patience) {
        return patiently(patience, () -> client.connect(CODEC, uri));
    }

    /** A new publish/subscribe connection (Lettuce subscribes again by itself after a reconnect). */
    public StatefulRedisPubSubConnection<String, byte[]> connectPubSub(Duration patience) {
        return patiently(patience, () -> client.connectPubSub(CODEC, uri));
    }

    private <T> T patiently(Duration patience, java.util.function.Supplier<T> connect) {
        long deadline = System.nanoTime() + patience.toNanos();
        long backoffMillis = 100;
        while (true) {
            try {
                return connect.get();
            } catch (RedisConnectionException e) {
                if (System.nanoTime() + backoffMillis * 1_000_000 > deadline) {
                    throw new RedisConnectionException("cannot reach Redis at " + describe() + ": " + rootMessage(e), e);
                }
                LOG.log(Level.WARNING, "Redis at {0} not reachable yet ({1}); retrying", new Object[] {describe(), rootMessage(e)});
                try {
                    Thread.sleep(backoffMillis);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoffMillis = Math.min(backoffMillis * 2, 2000);
            }
        }
    }

    /** host:port without credentials, for logs. */
    public String describe() {
        return uri.getHost() + ":" + uri.getPort();
    }

    /** How long the {@code attempt}-th reconnect attempt in a row waits. */
    Duration reconnectDelay(long attempt) {
        return resources.reconnectDelay().createDelay(attempt);
    }

    @Override
    public void close() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        // Resources handed to a client are not shut down with it.
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** The url with any password replaced, safe to log or show. */
    public static String redact(String url) {
        return url.replaceAll("(?<=//)[^@/]*@", "***@");
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return String.valueOf(cause.getMessage());
    }
}

package io.alimi.timeline;

import io.alimi.retry.Backoff;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opens Lettuce connections to one Redis or to a Redis Cluster, all with the same failure behaviour: while Redis
 * is unreachable, commands fail at once instead of queueing without bound (callers retry with backoff); once it
 * is back, the connection reconnects by itself within {@link #MAX_RECONNECT_DELAY}; no command waits longer than
 * the command timeout.
 *
 * <p>In a cluster, commands follow MOVED and ASK redirections, and the slot map is reloaded every
 * {@link #TOPOLOGY_REFRESH} and at once on a redirection or repeated reconnects.
 */
public final class RedisConnector implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RedisConnector.class.getName());
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(5);
    static final Duration TOPOLOGY_REFRESH = Duration.ofSeconds(30);
    /** Commands one cluster connection holds while a master's connection opens or reopens. */
    private static final int CLUSTER_QUEUE = 100_000;
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
    private final RedisClusterClient clusterClient;
    private final List<RedisURI> uris;

    private RedisConnector(List<RedisURI> uris, boolean cluster) {
        this.uris = uris;
        SocketOptions socket = SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build();
        this.resources = DefaultClientResources.builder()
                .reconnectDelay(Delay.equalJitter(Duration.ofMillis(50), MAX_RECONNECT_DELAY, 100, TimeUnit.MILLISECONDS))
                .build();
        // Also in a cluster: the tailer's blocking reads each get a connection to one server.
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .protocolVersion(ProtocolVersion.RESP2)
                .socketOptions(socket)
                // The connection's own timeout (the URI's, or setTimeout): the tailer's blocking XREAD needs longer.
                .timeoutOptions(TimeoutOptions.enabled())
                .build());
        if (cluster) {
            this.clusterClient = RedisClusterClient.create(resources, uris);
            clusterClient.setOptions(ClusterClientOptions.builder()
                    .autoReconnect(true)
                    // Connections to each master open lazily, and a command that finds its master's connection
                    // still opening would be refused at once: in a cluster, commands wait for the connection
                    // instead, bounded in number, each still failing after the command timeout.
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
                    .requestQueueSize(CLUSTER_QUEUE)
                    .protocolVersion(ProtocolVersion.RESP2)
                    .socketOptions(socket)
                    .timeoutOptions(TimeoutOptions.enabled())
                    .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                            .enablePeriodicRefresh(TOPOLOGY_REFRESH)
                            .enableAllAdaptiveRefreshTriggers()
                            .build())
                    .build());
        } else {
            this.clusterClient = null;
        }
    }

    /**
     * @param url {@code redis://[:password@]host:port[/db]} or {@code rediss://…}
     * @throws IllegalArgumentException if the url cannot be parsed; the message never contains the password
     */
    public static RedisConnector create(String url, Duration commandTimeout) {
        return create(url, false, commandTimeout);
    }

    /**
     * @param urls    one Redis URL; for a cluster, one or more seed nodes separated by commas
     *                ({@code redis://10.0.0.1:6379,redis://10.0.0.2:6379}): any reachable one tells the rest
     * @param cluster whether {@code urls} name Redis Cluster nodes
     * @throws IllegalArgumentException if a url cannot be parsed; the message never contains a password
     */
    public static RedisConnector create(String urls, boolean cluster, Duration commandTimeout) {
        String whole = urls.strip();
        if (whole.startsWith("redis-sentinel://") || whole.startsWith("rediss-sentinel://")) {
            return sentinel(whole, cluster, commandTimeout);
        }
        List<RedisURI> parsed = new ArrayList<>();
        for (String url : urls.split(",")) {
            String trimmed = url.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            RedisURI uri;
            try {
                uri = RedisURI.create(trimmed);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("not a Redis URL: " + redact(trimmed));
            }
            if (cluster && uri.getDatabase() != 0) {
                throw new IllegalArgumentException("a Redis Cluster has only database 0: " + redact(trimmed));
            }
            uri.setTimeout(commandTimeout);
            parsed.add(uri);
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException("no Redis URL given");
        }
        if (!cluster && parsed.size() > 1) {
            throw new IllegalArgumentException("several Redis URLs are only for a cluster (set alimi.redis.cluster=true): "
                    + redact(urls));
        }
        return new RedisConnector(List.copyOf(parsed), cluster);
    }

    /**
     * {@code redis-sentinel://[password@]host:port[,host:port…][/db]#<master name>}: the master that Sentinel names,
     * looked up again at every reconnect, so connections (the tailer's, the bridge's) follow a failover.
     */
    private static RedisConnector sentinel(String url, boolean cluster, Duration commandTimeout) {
        if (cluster) {
            throw new IllegalArgumentException("a redis-sentinel:// URL names a master and its Sentinels, not a "
                    + "Redis Cluster (alimi.redis.cluster=true): " + redact(url));
        }
        RedisURI uri;
        try {
            uri = RedisURI.create(url);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a Redis Sentinel URL (redis-sentinel://host:port,host:port#master): "
                    + redact(url));
        }
        if (uri.getSentinels().isEmpty() || uri.getSentinelMasterId() == null || uri.getSentinelMasterId().isBlank()) {
            throw new IllegalArgumentException("a Sentinel URL needs its Sentinels and the master's name after '#' "
                    + "(redis-sentinel://host:26379,host:26380#mymaster): " + redact(url));
        }
        uri.setTimeout(commandTimeout);
        return new RedisConnector(List.of(uri), false);
    }

    /**
     * A new connection; retries until {@code patience} runs out, so a node started a moment before Redis still
     * comes up.
     */
    public RedisLink connect(Duration patience) {
        if (clusterClient != null) {
            return patiently(patience, () -> RedisLink.cluster(clusterClient.connect(CODEC), clusterClient::refreshPartitions,
                    this::connectToServer));
        }
        return patiently(patience, () -> RedisLink.single(client.connect(CODEC, uris.getFirst())));
    }

    /** A connection to one server of the cluster, with the options and credentials of the seeds. */
    private io.lettuce.core.api.StatefulRedisConnection<String, byte[]> connectToServer(RedisURI server) {
        RedisURI uri = RedisURI.builder(uris.getFirst()).withHost(server.getHost()).withPort(server.getPort()).build();
        return client.connect(CODEC, uri);
    }

    /**
     * A new publish/subscribe connection (Lettuce subscribes again by itself after a reconnect). In a cluster,
     * a message published on any node reaches the subscribers of every node.
     */
    public StatefulRedisPubSubConnection<String, byte[]> connectPubSub(Duration patience) {
        if (clusterClient != null) {
            return patiently(patience, () -> clusterClient.connectPubSub(CODEC));
        }
        return patiently(patience, () -> client.connectPubSub(CODEC, uris.getFirst()));
    }

    private <T> T patiently(Duration patience, Supplier<T> connect) {
        long deadline = System.nanoTime() + patience.toNanos();
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2));
        while (true) {
            try {
                return connect.get();
            } catch (RedisException e) {
                // A single server refuses with RedisConnectionException; a cluster whose seeds cannot be reached
                // fails to load its slot map, a plain RedisException.
                long wait = backoff.nextNanos();
                if (System.nanoTime() + wait > deadline) {
                    throw new RedisConnectionException("cannot reach Redis at " + describe() + ": " + rootMessage(e), e);
                }
                LOG.log(Level.WARNING, "Redis at {0} not reachable yet ({1}); retrying", new Object[] {describe(), rootMessage(e)});
                try {
                    Thread.sleep(Duration.ofNanos(wait));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** host:port (each seed for a cluster) without credentials, for logs. */
    public String describe() {
        RedisURI first = uris.getFirst();
        if (!first.getSentinels().isEmpty()) {
            StringJoiner sentinels = new StringJoiner(",", "master '" + first.getSentinelMasterId() + "' of Sentinels ", "");
            first.getSentinels().forEach(sentinel -> sentinels.add(sentinel.getHost() + ":" + sentinel.getPort()));
            return sentinels.toString();
        }
        StringJoiner seeds = new StringJoiner(",", clusterClient != null ? "cluster " : "", "");
        for (RedisURI uri : uris) {
            seeds.add(uri.getHost() + ":" + uri.getPort());
        }
        return seeds.toString();
    }

    /** How long the {@code attempt}-th reconnect attempt in a row waits. */
    Duration reconnectDelay(long attempt) {
        return resources.reconnectDelay().createDelay(attempt);
    }

    @Override
    public void close() {
        if (clusterClient != null) {
            clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        // Resources handed to a client are not shut down with it.
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** The url with any password replaced, safe to log or show. */
    public static String redact(String url) {
        return url.replaceAll("(?<=//)[^@/,]*@", "***@");
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return String.valueOf(cause.getMessage());
    }
}

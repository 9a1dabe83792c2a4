package io.alimi.timeline;

import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.protocol.ConnectionIntent;

import java.util.function.Function;

/**
 * One connection of a node to its Redis: a single server, or a Redis Cluster. Its {@link #async() commands}
 * are the same either way (in a cluster, each goes to the master of its key's slot and follows MOVED and ASK);
 * what differs is visible only to callers that must talk to one server at a time, such as the tailer, whose
 * blocking XREAD needs a connection of its own and may only name keys of one slot: {@link #readerGroup},
 * {@link #serverOf}, {@link #openBlocking}.
 */
public final class RedisLink implements AutoCloseable {

    /** The node name of a single Redis: it serves every key. */
    public static final String SINGLE = "redis";

    private final StatefulConnection<String, byte[]> connection;
    private final RedisClusterAsyncCommands<String, byte[]> commands;
    private final StatefulRedisClusterConnection<String, byte[]> cluster;
    private final Runnable refresh;
    private final Function<RedisURI, StatefulRedisConnection<String, byte[]>> opener;

    private RedisLink(StatefulConnection<String, byte[]> connection, RedisClusterAsyncCommands<String, byte[]> commands,
                      StatefulRedisClusterConnection<String, byte[]> cluster, Runnable refresh,
                      Function<RedisURI, StatefulRedisConnection<String, byte[]>> opener) {
        this.connection = connection;
        this.commands = commands;
        this.cluster = cluster;
        this.refresh = refresh;
        this.opener = opener;
    }

    /** A link to a single Redis. */
    public static RedisLink single(StatefulRedisConnection<String, byte[]> connection) {
        return new RedisLink(connection, connection.async(), null, () -> { }, uri -> {
            throw new UnsupportedOperationException("a single Redis has one connection per link");
        });
    }

    /**
     * A link to a Redis Cluster; {@code refresh} reloads the slot map from the cluster, {@code opener} opens a
     * connection to one of its servers.
     */
    static RedisLink cluster(StatefulRedisClusterConnection<String, byte[]> connection, Runnable refresh,
                             Function<RedisURI, StatefulRedisConnection<String, byte[]>> opener) {
        return new RedisLink(connection, connection.async(), connection, refresh, opener);
    }

    /** Commands routed by key. Never block them (no BLOCK reads): other callers share the connection. */
    public RedisClusterAsyncCommands<String, byte[]> async() {
        return commands;
    }

    /** The same commands, waiting for each reply: for tools and tests, never on a request path. */
    public RedisClusterCommands<String, byte[]> sync() {
        return cluster != null ? cluster.sync() : single().sync();
    }

    public boolean isCluster() {
        return cluster != null;
    }

    /**
     * Which blocking reader a key needs: keys with the same answer may share one blocking command. Outside a
     * cluster that is every key (0); in a cluster, Redis takes multi-key commands only within one slot, so it is
     * the key's slot.
     */
    public int readerGroup(String key) {
        return cluster == null ? 0 : SlotHash.getSlot(key);
    }

    /**
     * The id of the server that serves {@code group} (see {@link #readerGroup}) now, from the slot map held here,
     * which may be out of date until {@link #refreshTopology()}; {@link #SINGLE} outside a cluster.
     *
     * @throws IllegalStateException if no server serves the slot (the cluster is incomplete)
     */
    public String serverOf(int group) {
        if (cluster == null) {
            return SINGLE;
        }
        RedisClusterNode owner = cluster.getPartitions().getMasterBySlot(group);
        if (owner == null) {
            throw new IllegalStateException("no Redis Cluster node serves slot " + group);
        }
        return owner.getNodeId();
    }

    /**
     * A connection to server {@code serverId} for a caller that will block it (XREAD BLOCK). Outside a cluster it
     * is this link's own connection (the caller must own the link); in a cluster it is a new connection the
     * caller closes.
     */
    public StatefulRedisConnection<String, byte[]> openBlocking(String serverId) {
        if (cluster == null) {
            return single();
        }
        RedisClusterNode node = cluster.getPartitions().getPartitionByNodeId(serverId);
        if (node == null) {
            throw new IllegalStateException("Redis Cluster node " + serverId + " is gone");
        }
        return opener.apply(node.getUri());
    }

    /** Whether {@link #openBlocking} gave a connection of its own, to be closed by the caller. */
    public boolean ownsBlocking() {
        return cluster != null;
    }

    /**
     * A shared connection to one server, for short commands that must reach it and no other (CLIENT UNBLOCK of a
     * client blocked there). Outside a cluster, this link's connection.
     */
    public RedisClusterAsyncCommands<String, byte[]> server(String serverId) {
        if (cluster == null) {
            return commands;
        }
        return cluster.getConnection(serverId, ConnectionIntent.WRITE).async();
    }

    /** Reloads which server serves which slot (after a MOVED or ASK answer to a blocking read). */
    public void refreshTopology() {
        refresh.run();
    }

    @SuppressWarnings("unchecked")
    private StatefulRedisConnection<String, byte[]> single() {
        return (StatefulRedisConnection<String, byte[]>) connection;
    }

    @Override
    public void close() {
        connection.close();
    }
}

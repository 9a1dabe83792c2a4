package io.alimi.support;

import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A real Redis Cluster of three masters, each a redis-server process started from the same binary the other tests
 * use, the 16,384 slots split evenly: 0–5460, 5461–10922, 10923–16383. Slots can be moved between masters with
 * their keys, as {@code redis-cli --cluster reshard} does; a replica can be added to a master and take over from it.
 */
public final class RedisCluster implements AutoCloseable {

    private static final Duration FORMED = Duration.ofSeconds(20);
    private static final int SLOTS = 16_384;

    private final List<RedisProcess> masters = new ArrayList<>();
    /** Every server started: the three masters first (indexes 0–2), then replicas added later. */
    private final List<RedisProcess> servers = new ArrayList<>();
    private final RedisClient client = RedisClient.create();

    private RedisCluster() {
    }

    public static RedisCluster start() {
        RedisCluster cluster = new RedisCluster();
        try {
            cluster.form();
            return cluster;
        } catch (RuntimeException | IOException e) {
            cluster.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    private void form() throws IOException {
        for (int i = 0; i < 3; i++) {
            Path dir = TempDirs.create("alimi-redis-cluster-");
            masters.add(startServer());
        }
        for (int i = 0; i < 3; i++) {
            int from = i * SLOTS / 3;
            int to = (i + 1) * SLOTS / 3;
            run(i, redis -> redis.clusterAddSlots(IntStream.range(from, to).toArray()));
        }
        for (int i = 1; i < 3; i++) {
            int port = masters.get(i).port();
            run(0, redis -> redis.clusterMeet("127.0.0.1", port));
        }
        Await.until(FORMED, "the cluster to agree on all slots", () -> {
            for (int i = 0; i < 3; i++) {
                String info = run(i, RedisCommands::clusterInfo);
                if (!info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:3")
                        || !info.contains("cluster_slots_assigned:16384")) {
                    return false;
                }
            }
            return true;
        });
    }

    private RedisProcess startServer() {
        RedisProcess server = RedisProcess.start(TempDirs.create("alimi-redis-cluster-"), Ports.free(),
                List.of("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no"));
        servers.add(server);
        return server;
    }

    /**
     * Starts a replica of server {@code master} and waits until it has synchronised; returns its index. Slot moves
     * ({@link #moveSlot}) are for a cluster without replicas.
     */
    public int addReplica(int master) {
        String masterId = nodeId(master);
        RedisProcess replica = startServer();
        int index = servers.size() - 1;
        int port = replica.port();
        run(0, redis -> redis.clusterMeet("127.0.0.1", port));
        Await.until(FORMED, "the new server to learn of its master", () -> run(index, RedisCommands::clusterNodes).contains(masterId));
        run(index, redis -> redis.clusterReplicate(masterId));
        Await.until(FORMED, "the replica to synchronise", () -> run(index, redis -> redis.info("replication"))
                .contains("master_link_status:up"));
        // Masters vote for a replica's takeover only once they know it as their peer's replica.
        String replicaId = nodeId(index);
        Await.until(FORMED, "every master to know the replica", () -> {
            for (int i = 0; i < masters.size(); i++) {
                boolean known = run(i, RedisCommands::clusterNodes).lines()
                        .anyMatch(line -> line.startsWith(replicaId) && line.contains("slave " + masterId));
                if (!known) {
                    return false;
                }
            }
            return true;
        });
        return index;
    }

    /**
     * Has replica {@code replica} take over from its master (CLUSTER FAILOVER: the master stops taking writes until
     * the replica has them all, so nothing is lost) and waits until every master says the replica serves its slots.
     */
    public void failover(int replica, int slot) {
        int port = servers.get(replica).port();
        long[] askedAt = {0};
        Await.until(FORMED, "every server to see the replica as the master of slot " + slot, () -> {
            // A manual failover the masters did not vote for in time is abandoned: ask again every 3 s.
            if (System.nanoTime() - askedAt[0] > 3_000_000_000L && run(replica, RedisCommands::clusterNodes).lines()
                    .anyMatch(line -> line.contains("myself,slave"))) {
                run(replica, redis -> redis.clusterFailover(false));
                askedAt[0] = System.nanoTime();
            }
            for (int i = 0; i < masters.size(); i++) {
                if (!Integer.toString(port).equals(servingPort(i, slot))) {
                    return false;
                }
            }
            return true;
        });
    }

    private String servingPort(int asked, int slot) {
        return run(asked, redis -> redis.clusterSlots()).stream()
                .map(List.class::cast)
                .filter(range -> ((Number) range.get(0)).intValue() <= slot && slot <= ((Number) range.get(1)).intValue())
                .map(range -> ((List<?>) range.get(2)).get(1).toString())
                .findFirst().orElse("");
    }

    /** Seed URLs of every master, comma-separated, as {@code alimi.redis.url} takes them. */
    public String urls() {
        return String.join(",", masters.stream().map(RedisProcess::url).toList());
    }

    public int size() {
        return masters.size();
    }

    /** Index of the master serving {@code slot} now. */
    public int ownerOf(int slot) {
        String id = nodeIdServing(slot);
        for (int i = 0; i < servers.size(); i++) {
            if (id.equals(nodeId(i))) {
                return i;
            }
        }
        throw new IllegalStateException("no master serves slot " + slot);
    }

    /**
     * Moves {@code slot} and its keys to master {@code target}: IMPORTING / MIGRATING, MIGRATE of every key, then
     * SETSLOT NODE on every master, so clients see ASK during the move and MOVED after it.
     */
    public void moveSlot(int slot, int target) {
        int source = ownerOf(slot);
        if (source == target) {
            return;
        }
        String sourceId = nodeId(source);
        String targetId = nodeId(target);
        int targetPort = masters.get(target).port();
        run(target, redis -> redis.clusterSetSlotImporting(slot, sourceId));
        run(source, redis -> redis.clusterSetSlotMigrating(slot, targetId));
        while (true) {
            List<String> keys = run(source, redis -> redis.clusterGetKeysInSlot(slot, 100));
            if (keys.isEmpty()) {
                break;
            }
            run(source, redis -> redis.migrate("127.0.0.1", targetPort, 0, 5000,
                    MigrateArgs.Builder.keys(keys).replace()));
        }
        for (int i = 0; i < masters.size(); i++) {
            run(i, redis -> redis.clusterSetSlotNode(slot, targetId));
        }
        Await.until(FORMED, "every master to agree that slot " + slot + " moved", () -> {
            for (int i = 0; i < masters.size(); i++) {
                if (!servingPort(i, slot).equals(Integer.toString(targetPort))) {
                    return false;
                }
            }
            return true;
        });
    }

    private String nodeIdServing(int slot) {
        return run(0, redis -> {
            for (Object range : redis.clusterSlots()) {
                List<?> r = (List<?>) range;
                if (((Number) r.get(0)).intValue() <= slot && slot <= ((Number) r.get(1)).intValue()) {
                    return ((List<?>) r.get(2)).get(2).toString();
                }
            }
            throw new IllegalStateException("slot " + slot + " is not served");
        });
    }

    private String nodeId(int index) {
        return run(index, RedisCommands::clusterMyId);
    }

    private <T> T run(int index, java.util.function.Function<RedisCommands<String, String>, T> command) {
        try (StatefulRedisConnection<String, String> connection =
                     client.connect(RedisURI.create(servers.get(index).url()))) {
            return command.apply(connection.sync());
        }
    }

    @Override
    public void close() {
        for (RedisProcess server : servers) {
            server.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}

package io.alimi.timeline;

import io.alimi.config.SettingsException;
import io.alimi.config.Settings;
import java.time.Duration;

/**
 * How many replicas must hold an append before it counts as done. Redis replicates asynchronously: a master killed
 * outright loses what its replicas had not received yet, and the bridge has committed those Kafka offsets, an HTTP
 * producer has had its 202. With {@code minReplicas} above 0 an append waits (Redis {@code WAIT}) until that many
 * replicas acknowledge it, at most {@code timeout}; short of that it fails with {@link NotReplicatedException}
 * (the bridge retries without committing, an HTTP publish gets 503, and retrying the same events is safe).
 *
 * @param minReplicas replicas that must hold an append; 0 answers as soon as the master has it
 * @param timeout     how long an append waits for them
 */
public record Durability(int minReplicas, Duration timeout) {

    /**
     * {@code alimi.redis.min-replicas} and {@code alimi.redis.replica-timeout}.
     *
     * @param cluster        whether Redis is a cluster (waiting for replicas is not supported there yet)
     * @param commandTimeout the timeout of a Redis command, which a wait must stay below
     */
    public static Durability from(Settings settings, boolean cluster, Duration commandTimeout) {
        int replicas = settings.integer("alimi.redis.min-replicas", 0, 0, 100);
        Duration timeout = settings.duration("alimi.redis.replica-timeout", DEFAULT_TIMEOUT,
                Duration.ofMillis(1), Duration.ofMinutes(1));
        if (replicas == 0) {
            return NONE;
        }
        if (cluster) {
            throw new SettingsException("alimi.redis.min-replicas", "waiting for replicas is supported on a single "
                    + "Redis master (with Sentinel or without), not yet with alimi.redis.cluster=true");
        }
        if (timeout.compareTo(commandTimeout) >= 0) {
            throw new SettingsException("alimi.redis.replica-timeout", "must be shorter than alimi.redis.command-timeout ("
                    + commandTimeout.toMillis() + " ms), or every wait would time out as a failed command");
        }
        return new Durability(replicas, timeout);
    }

    public static final Durability NONE = new Durability(0, Duration.ZERO);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

    public Durability {
        if (minReplicas < 0 || (minReplicas > 0 && timeout.toMillis() < 1)) {
            throw new IllegalArgumentException("min-replicas must be 0 or more, with a timeout of at least 1 ms");
        }
    }

    public boolean waits() {
        return minReplicas > 0;
    }

    /** An append is on the master but not on as many replicas as required, within the timeout. */
    public static final class NotReplicatedException extends RuntimeException {
        private final long reached;

        NotReplicatedException(long reached, Durability durability) {
            super("the append reached " + reached + " of the " + durability.minReplicas() + " replicas required "
                    + "(alimi.redis.min-replicas) within " + durability.timeout().toMillis() + " ms");
            this.reached = reached;
        }

        public long reached() {
            return reached;
        }
    }
}

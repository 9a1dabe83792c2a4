package io.alimi.timeline;

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

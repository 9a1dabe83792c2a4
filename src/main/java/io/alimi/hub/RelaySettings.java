package io.alimi.hub;

import java.time.Duration;

/**
 * How the relay serves live connections.
 *
 * @param queueCapacity   live events a connection may have waiting; one more and it is disconnected as too slow.
 *                        At least {@code tailCount}, so that one read of the tailer can never overflow a queue the
 *                        writer has just emptied
 * @param maxCatchUp      entries replayed on resume, across all the client's scopes together (the newest are kept);
 *                        older ones are reported as a {@code behind} gap per scope
 * @param maxCatchUpBytes the same budget in bytes of events: a few large events after a far-behind cursor cost at
 *                        most this much memory per resume (the newest event is replayed whatever its size)
 * @param replayPiece     entries of a replay read and written at a time (with at most 256 KiB of envelopes)
 * @param concurrentReplays replay pieces read and handed out at once on the node (each waits for a turn)
 * @param heartbeat       idle time after which a keep-alive is written
 * @param maxLifetime     a stream ends after this (minus up to {@code lifetimeJitter}) so clients rebalance
 * @param lifetimeJitter  fraction of the lifetime taken off at random, so streams opened together do not end together
 * @param retry           SSE {@code retry:} base delay for reconnects
 * @param retryJitter     random extra added to each client's retry delay
 * @param drainTimeout    on shutdown, how long clients are given to be told and leave
 * @param tailBlock       how long one XREAD of the tailer blocks when nothing arrives
 * @param tailCount       entries read per stream per XREAD
 * @param clockSkew       how far the clocks of Redis servers may disagree (or one step back): a cursor's watermark
 *                        stays this far behind what the tailer read. Entry ids are a server's clock; when a Redis
 *                        Cluster slot moves to a server whose clock is behind, its next entries get smaller ids
 */
public record RelaySettings(int queueCapacity, int maxCatchUp, int maxCatchUpBytes, int replayPiece,
                            int concurrentReplays, Duration heartbeat, Duration maxLifetime,
                            double lifetimeJitter, Duration retry, Duration retryJitter, Duration drainTimeout,
                            Duration tailBlock, int tailCount, Duration clockSkew) {

    public static final int DEFAULT_QUEUE_CAPACITY = 1_024;
    public static final int DEFAULT_MAX_CATCH_UP = 1_000;
    public static final int DEFAULT_MAX_CATCH_UP_BYTES = 4 << 20;
    public static final int DEFAULT_REPLAY_PIECE = 128;
    /**
     * One per core (two at least): enough to keep the cores busy with replays, few enough that a publish never
     * queues long behind them (scripts/bench-resume: publish p99 27 ms with one per core, 133 ms with eight).
     */
    public static final int DEFAULT_CONCURRENT_REPLAYS = Math.max(2, Runtime.getRuntime().availableProcessors());
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(15);
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofMinutes(30);
    public static final double DEFAULT_LIFETIME_JITTER = 0.1;
    public static final Duration DEFAULT_RETRY = Duration.ofSeconds(2);
    public static final Duration DEFAULT_RETRY_JITTER = Duration.ofSeconds(3);
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_TAIL_BLOCK = Duration.ofSeconds(2);
    public static final int DEFAULT_TAIL_COUNT = 256;
    /** In a Redis Cluster, where slots move between servers; a single Redis has one clock: 0. */
    public static final Duration DEFAULT_CLUSTER_CLOCK_SKEW = Duration.ofSeconds(1);

    public static final RelaySettings DEFAULTS = new RelaySettings(DEFAULT_QUEUE_CAPACITY, DEFAULT_MAX_CATCH_UP, DEFAULT_MAX_CATCH_UP_BYTES, DEFAULT_REPLAY_PIECE,
            DEFAULT_CONCURRENT_REPLAYS,
            DEFAULT_HEARTBEAT, DEFAULT_MAX_LIFETIME, DEFAULT_LIFETIME_JITTER, DEFAULT_RETRY, DEFAULT_RETRY_JITTER,
            DEFAULT_DRAIN_TIMEOUT, DEFAULT_TAIL_BLOCK, DEFAULT_TAIL_COUNT, Duration.ZERO);

    /**
     * {@code alimi.relay.*}.
     *
     * @param redisCluster whether Redis is a cluster (the clock skew allowed is then 1 s by default)
     */
    public static RelaySettings from(io.alimi.config.Settings settings, boolean redisCluster) {
        Duration lifetime = settings.duration("alimi.relay.max-lifetime", DEFAULT_MAX_LIFETIME,
                Duration.ofSeconds(1), Duration.ofHours(24));
        int tailCount = settings.integer("alimi.relay.tail-count", DEFAULT_TAIL_COUNT, 1, 100_000);
        return new RelaySettings(
                settings.integer("alimi.relay.queue-capacity", Math.max(DEFAULT_QUEUE_CAPACITY, tailCount),
                        tailCount, 1_000_000),
                settings.integer("alimi.relay.max-catch-up", DEFAULT_MAX_CATCH_UP, 1, 100_000),
                settings.bytes("alimi.relay.max-catch-up-bytes", DEFAULT_MAX_CATCH_UP_BYTES, 1, 1 << 30),
                settings.integer("alimi.relay.replay-piece", DEFAULT_REPLAY_PIECE, 1, 10_000),
                settings.integer("alimi.relay.concurrent-replays", DEFAULT_CONCURRENT_REPLAYS, 1, 10_000),
                settings.duration("alimi.relay.heartbeat", DEFAULT_HEARTBEAT, Duration.ofMillis(100), Duration.ofMinutes(10)),
                lifetime,
                DEFAULT_LIFETIME_JITTER,
                settings.duration("alimi.relay.retry", DEFAULT_RETRY, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.retry-jitter", DEFAULT_RETRY_JITTER, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.drain-timeout", DEFAULT_DRAIN_TIMEOUT, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.tail-block", DEFAULT_TAIL_BLOCK, Duration.ofMillis(100), Duration.ofMinutes(1)),
                tailCount,
                settings.duration("alimi.relay.clock-skew",
                        redisCluster ? DEFAULT_CLUSTER_CLOCK_SKEW : Duration.ZERO, Duration.ZERO, Duration.ofMinutes(10)));
    }

    public RelaySettings {
        if (queueCapacity < tailCount) {
            throw new IllegalArgumentException("the queue capacity must be at least the tail count");
        }
    }
}

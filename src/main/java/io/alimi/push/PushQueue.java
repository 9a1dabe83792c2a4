package io.alimi.push;

import io.alimi.timeline.Keys;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What the push work stream holds, for metrics and the start-up check: entries waiting, pushes its cap dropped,
 * dead letters. Any node can tell (the stream is in Redis), whatever its roles.
 */
public final class PushQueue {

    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(PushQueue.class.getName());

    /**
     * @param waiting     entries in the push stream: work not done yet (done entries are deleted)
     * @param dropped     pushes the stream's cap has dropped, ever
     * @param deadLetters entries in the dead-letter stream
     */
    public record Figures(long waiting, long dropped, long deadLetters) {
    }

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;

    public PushQueue(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys) {
        this.redis = redis;
        this.keys = keys;
    }

    /** The figures now; empty when Redis does not answer within two seconds. */
    public Optional<Figures> figures() {
        CompletableFuture<Long> waiting = redis.xlen(keys.pushQueue()).toCompletableFuture();
        CompletableFuture<byte[]> dropped = redis.get(keys.pushDropped()).toCompletableFuture();
        CompletableFuture<Long> dead = redis.xlen(keys.pushDeadLetters()).toCompletableFuture();
        try {
            CompletableFuture.allOf(waiting, dropped, dead).get(2, TimeUnit.SECONDS);
            byte[] count = dropped.join();
            return Optional.of(new Figures(waiting.join(),
                    count == null ? 0 : Long.parseLong(new String(count, StandardCharsets.US_ASCII)), dead.join()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    public String key() {
        return keys.pushQueue();
    }

    /**
     * Says so when pushes wait: for a node without FCM credentials, which cannot send what is queued (with none of
     * the nodes running the push role, the queue fills up to its cap and then drops the oldest).
     */
    public void warnIfWaiting(int maxLength) {
        figures().filter(figures -> figures.waiting() > 0).ifPresent(figures -> LOG.warning(() ->
                figures.waiting() + " push-flagged events are queued in " + key() + " and this node has no "
                        + "push credentials (alimi.push.fcm.credentials-file): unless a node with the push role runs, "
                        + "they wait, and beyond alimi.push.queue-max-length ("
                        + maxLength
                        + ") the oldest are dropped (" + figures.dropped() + " so far; see alimi_push_queue_dropped_total)"));
    }
}

package io.alimi.timeline;

import io.alimi.config.Settings;

import java.time.Duration;

/**
 * Where Redis is and how Alimi talks to it ({@code alimi.redis.*}).
 *
 * @param url             {@code redis://}, {@code rediss://}, seeds of a cluster, or {@code redis-sentinel://}
 * @param cluster         whether it is a Redis Cluster
 * @param keys            key names: the prefix, and the shard tags of a cluster
 * @param commandTimeout  how long one command may take before it fails
 * @param connectPatience how long start-up waits for Redis to answer
 */
public record RedisSettings(String url, boolean cluster, Keys keys, Duration commandTimeout, Duration connectPatience) {

    public static final String DEFAULT_URL = "redis://127.0.0.1:6379";
    public static final Duration DEFAULT_CONNECT_PATIENCE = Duration.ofSeconds(30);

    public static RedisSettings from(Settings settings) {
        boolean cluster = settings.bool("alimi.redis.cluster", false);
        return new RedisSettings(settings.string("alimi.redis.url", DEFAULT_URL), cluster,
                new Keys(settings.string("alimi.redis.key-prefix", Keys.DEFAULT_PREFIX),
                        cluster ? settings.integer("alimi.redis.cluster-shards", Keys.DEFAULT_CLUSTER_SHARDS, 1, 16_384) : 0),
                settings.duration("alimi.redis.command-timeout", RedisConnector.DEFAULT_COMMAND_TIMEOUT,
                        Duration.ofMillis(100), Duration.ofMinutes(1)),
                settings.duration("alimi.redis.connect-patience", DEFAULT_CONNECT_PATIENCE, Duration.ZERO, Duration.ofHours(1)));
    }
}

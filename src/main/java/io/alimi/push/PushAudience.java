package io.alimi.push;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.alimi.auth.Profile;
import io.alimi.event.Scope;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisCalls;
import io.lettuce.core.Range;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Who receives the pushes of a broad scope (a mall, a partner, everyone): the admins with a device whose
 * entitlements, as last seen, include it. Pushes go device by device to them, never to an FCM topic: a topic's
 * name is guessable and any app instance of the Firebase project may subscribe itself to any topic, so a topic
 * cannot keep one tenant's pushes from another's.
 *
 * <p>Entitlements change without Alimi being told. Each admin's membership is a lease: taken at device
 * registration, renewed (and corrected: malls lost are left, malls gained joined) whenever the admin is seen with
 * a valid token (any authenticated request, at most once a minute per admin and node), and dropped when it runs
 * out ({@code entitlement-ttl}) without a sighting. So a mall taken away stops its pushes at the admin's next
 * request, or at the latest when the lease ends; pushes to the admin themselves ({@code admin:<n>}) go on as long
 * as the device is registered.
 *
 * <p>Redis: per broad scope a sorted set {@code alimi:pushto:{mall:1}} (admin number → lease end, ms; expiring
 * with its newest lease), per admin with devices {@code alimi:pushof:{admin:42}} (the broad scopes they are in).
 */
public final class PushAudience {

    private static final Logger LOG = Logger.getLogger(PushAudience.class.getName());
    public static final Duration DEFAULT_LEASE = Duration.ofDays(7);
    /** How often one node renews one admin's lease at most. */
    private static final Duration RENEW_EVERY = Duration.ofMinutes(1);

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final Duration lease;
    private final Duration enrolmentTtl;
    private final Clock clock;
    /** Admin number → the broad scopes last renewed from this node, within {@link #RENEW_EVERY}. */
    private final Cache<String, Set<String>> renewed = Caffeine.newBuilder()
            .maximumSize(100_000).expireAfterWrite(RENEW_EVERY).build();

    /**
     * @param lease        how long a sighting of an admin's entitlements counts
     * @param enrolmentTtl how long the record of an admin's scopes is kept (the devices' time-to-live)
     */
    public PushAudience(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, Duration lease,
                        Duration enrolmentTtl, Clock clock) {
        this.redis = redis;
        this.keys = keys;
        this.lease = lease;
        this.enrolmentTtl = enrolmentTtl;
        this.clock = clock;
    }

    /** The broad scopes among {@code scopes}, as text, sorted: what an admin's pushes come through besides their own. */
    static Set<String> broad(Set<Scope> scopes) {
        Set<String> broad = new TreeSet<>();
        for (Scope scope : scopes) {
            if (scope.kind() != Scope.Kind.ADMIN) {
                broad.add(scope.toString());
            }
        }
        return broad;
    }

    /**
     * Puts an admin who has a device in the audience of each of their broad scopes, for a fresh lease, and takes
     * them out of those they are no longer entitled to.
     *
     * @return the broad scopes they are in now
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public Set<String> enroll(String adminNo, Set<Scope> scopes) {
        Set<String> now = broad(scopes);
        long until = clock.millis() + lease.toMillis();
        Set<String> before = enrolled(adminNo);
        // Pipelined, then awaited together: an operator of 10,000 malls is 20,000 commands, not 20,000 round trips.
        List<CompletableFuture<?>> writes = new ArrayList<>();
        for (String scope : now) {
            String key = keys.pushAudience(Scope.parse(scope));
            writes.add(redis.zadd(key, (double) until, bytes(adminNo)).toCompletableFuture());
            writes.add(redis.pexpire(key, lease.toMillis()).toCompletableFuture());
        }
        for (String scope : before) {
            if (!now.contains(scope)) {
                writes.add(redis.zrem(keys.pushAudience(Scope.parse(scope)), bytes(adminNo)).toCompletableFuture());
            }
        }
        writes.add(redis.set(keys.pushEnrolment(adminNo), bytes(String.join(",", now)),
                SetArgs.Builder.px(enrolmentTtl.toMillis())).toCompletableFuture());
        awaitAll(writes);
        renewed.put(adminNo, now);
        return now;
    }

    /** Takes an admin out of every audience: their last device is gone. */
    public void withdraw(String adminNo) {
        List<CompletableFuture<?>> writes = new ArrayList<>();
        for (String scope : enrolled(adminNo)) {
            writes.add(redis.zrem(keys.pushAudience(Scope.parse(scope)), bytes(adminNo)).toCompletableFuture());
        }
        writes.add(redis.del(keys.pushEnrolment(adminNo)).toCompletableFuture());
        awaitAll(writes);
        renewed.invalidate(adminNo);
    }

    private static void awaitAll(List<CompletableFuture<?>> writes) {
        RedisCalls.await(CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)));
    }

    /**
     * The admin was seen with a valid token and these entitlements: if they have devices, renew their lease and
     * correct their scopes. Cheap when nothing changed within a minute (no Redis call); never throws.
     */
    public void seen(Profile profile) {
        Set<String> now;
        try {
            now = broad(profile.scopes());
        } catch (IllegalArgumentException invalid) {
            return;
        }
        if (now.equals(renewed.getIfPresent(profile.adminNo()))) {
            return;
        }
        renewed.put(profile.adminNo(), now);
        Thread.ofVirtual().name("alimi-push-audience").start(() -> {
            try {
                // Devices, not an enrolment: a device registered before audiences existed joins at its admin's
                // first sighting, not only at its next registration.
                if (RedisCalls.await(redis.exists(keys.devices(profile.adminNo()))) > 0) {
                    enroll(profile.adminNo(), profile.scopes());
                }
            } catch (RuntimeException e) {
                renewed.invalidate(profile.adminNo());
                LOG.log(Level.FINE, "push audience not renewed for now", e);
            }
        });
    }

    /** The admins whose lease on {@code scope} is running; those whose lease ran out are dropped. */
    public List<String> admins(Scope scope) {
        String key = keys.pushAudience(scope);
        long now = clock.millis();
        RedisCalls.await(redis.zremrangebyscore(key, Range.create(Double.NEGATIVE_INFINITY, (double) now)));
        List<String> admins = new ArrayList<>();
        for (byte[] member : RedisCalls.await(redis.zrangebyscore(key, Range.create((double) now, Double.POSITIVE_INFINITY)))) {
            admins.add(new String(member, StandardCharsets.UTF_8));
        }
        return admins;
    }

    /** The broad scopes an admin is in, as recorded. */
    public Set<String> enrolled(String adminNo) {
        byte[] value = RedisCalls.await(redis.get(keys.pushEnrolment(adminNo)));
        Set<String> scopes = new LinkedHashSet<>();
        if (value != null && value.length > 0) {
            for (String scope : new String(value, StandardCharsets.UTF_8).split(",")) {
                scopes.add(scope);
            }
        }
        return scopes;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}

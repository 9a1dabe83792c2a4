package io.alimi.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.alimi.event.EventJson;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisCalls;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Admins' preferences, kept in Redis ({@code alimi:prefs:{admin:42}}, one small JSON value per admin who saved
 * any: bounded by the number of admins; deleting them restores the defaults) and cached on each node.
 *
 * <p>A change is announced on {@code alimi:prefs-changed}; every node drops its cached copy and tells its listeners
 * (the relay, which re-judges the admin's open streams and unread counts), so a change applies everywhere within
 * the time a Pub/Sub message takes. Cached copies also expire after {@link #CACHED_FOR}, which bounds how long a
 * node that missed an announcement (its Pub/Sub connection was down) can stay behind.
 */
public final class PreferenceStore {

    private static final Logger LOG = Logger.getLogger(PreferenceStore.class.getName());
    static final Duration CACHED_FOR = Duration.ofMinutes(1);

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final InboxPolicy policy;
    private final Cache<String, Preferences> cache = Caffeine.newBuilder()
            .maximumSize(100_000).expireAfterWrite(CACHED_FOR).build();
    /** Counts announcements: a value read while one arrived may be stale, so it is not cached. */
    private final AtomicLong changes = new AtomicLong();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    public PreferenceStore(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, InboxPolicy policy) {
        this.redis = redis;
        this.keys = keys;
        this.policy = policy;
    }

    public InboxPolicy policy() {
        return policy;
    }

    /**
     * The admin's preferences in force.
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public Preferences of(String adminNo) {
        Preferences cached = cache.getIfPresent(adminNo);
        if (cached != null) {
            return cached;
        }
        long before = changes.get();
        Preferences read = decode(RedisCalls.await(redis.get(keys.preferences(adminNo))));
        keep(adminNo, read, before);
        return read;
    }

    /** The preferences of many admins, with one pipelined read for those not cached. */
    public Map<String, Preferences> of(Collection<String> admins) {
        Map<String, Preferences> found = new LinkedHashMap<>();
        Map<String, RedisFuture<byte[]>> reads = new LinkedHashMap<>();
        long before = changes.get();
        for (String admin : admins) {
            Preferences cached = cache.getIfPresent(admin);
            if (cached != null) {
                found.put(admin, cached);
            } else if (!reads.containsKey(admin)) {
                reads.put(admin, redis.get(keys.preferences(admin)));
            }
        }
        for (Map.Entry<String, RedisFuture<byte[]>> read : reads.entrySet()) {
            Preferences preferences = decode(RedisCalls.await(read.getValue()));
            keep(read.getKey(), preferences, before);
            found.put(read.getKey(), preferences);
        }
        return found;
    }

    private void keep(String adminNo, Preferences read, long changesBefore) {
        if (changes.get() == changesBefore) {
            cache.put(adminNo, read);
        }
    }

    /**
     * Saves an admin's mutes (checked by the caller) and announces the change.
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public Preferences save(String adminNo, List<Mute> mutes) {
        ObjectNode json = EventJson.mapper().createObjectNode();
        json.put("v", 1);
        ArrayNode list = json.putArray("mutes");
        mutes.forEach(mute -> list.add(mute.toJson()));
        RedisCalls.await(redis.set(keys.preferences(adminNo), EventJson.bytes(json)));
        Preferences saved = new Preferences(mutes, true, policy);
        announce(adminNo, saved);
        return saved;
    }

    /** Forgets what an admin saved: the defaults apply again. */
    public Preferences reset(String adminNo) {
        RedisCalls.await(redis.del(keys.preferences(adminNo)));
        Preferences defaults = Preferences.defaults(policy);
        announce(adminNo, defaults);
        return defaults;
    }

    /**
     * Tells every node. This node's listeners are called before this returns, so the admin's streams here apply the
     * change before the request that made it is answered; the others within a Pub/Sub message's time.
     */
    private void announce(String adminNo, Preferences now) {
        changes.incrementAndGet();
        cache.put(adminNo, now);
        RedisCalls.await(redis.publish(keys.preferencesChangedChannel(), adminNo.getBytes(StandardCharsets.UTF_8)));
        tell(adminNo);
    }

    private void tell(String adminNo) {
        for (Consumer<String> listener : listeners) {
            try {
                listener.accept(adminNo);
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "a preferences change was not applied everywhere on this node for now", e);
            }
        }
    }

    /** Called for every announcement (this node's own too): calls the listeners, on a thread of its own. */
    public void changed(String adminNo) {
        changes.incrementAndGet();
        cache.invalidate(adminNo);
        // Not on the Pub/Sub connection's thread: listeners read Redis.
        Thread.ofVirtual().name("alimi-preferences").start(() -> tell(adminNo));
    }

    /** {@code listener} gets the admin number of every change announced. */
    public void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }

    /** Saved preferences as stored; what cannot be read is left out (the rest still applies). */
    Preferences decode(byte[] value) {
        if (value == null) {
            return Preferences.defaults(policy);
        }
        List<Mute> mutes = new ArrayList<>();
        try {
            JsonNode json = EventJson.mapper().readTree(value);
            for (JsonNode item : json.path("mutes")) {
                try {
                    mutes.add(Mute.fromJson(item));
                } catch (IllegalArgumentException e) {
                    LOG.fine(() -> "a stored mute could not be read and is ignored: " + e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warning("stored preferences could not be read; the admin gets none until they save again");
        }
        return new Preferences(mutes, true, policy);
    }
}

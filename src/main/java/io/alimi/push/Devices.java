package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.event.EventJson;
import io.alimi.event.Sha256;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisCalls;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Admins' mobile devices (FCM registration tokens), in Redis: per admin a hash of token → details, and per token
 * its current owner, so a phone that signs in as another admin moves to that admin (it never keeps receiving the
 * previous one's pushes).
 *
 * <p>Bounded: an admin keeps at most {@code maxPerAdmin} devices (registering one more forgets the one registered
 * longest ago), and a device not registered again within {@code timeToLive} is forgotten (apps register at every
 * start, and FCM itself advises refreshing tokens monthly and treating tokens unseen for a month as stale).
 */
public final class Devices {

    public static final int DEFAULT_MAX_PER_ADMIN = 10;
    public static final Duration DEFAULT_TIME_TO_LIVE = Duration.ofDays(60);

    /** What a device told us about itself. */
    public record Device(String token, String platform, String appVersion, Instant registeredAt) {
    }

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;

    private final int maxPerAdmin;
    private final Duration timeToLive;
    private final PushAudience audience;

    /** @param audience told when an admin's last device is gone, so their broad scopes' pushes stop going to them */
    public Devices(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, int maxPerAdmin, Duration timeToLive,
                   PushAudience audience) {
        this.redis = redis;
        this.keys = keys;
        this.maxPerAdmin = maxPerAdmin;
        this.timeToLive = timeToLive;
        this.audience = audience;
    }

    /** What a registration changed besides adding the device. */
    public record Registered(Optional<String> movedFrom, List<String> evicted) {
    }

    /**
     * Registers {@code device} for {@code adminNo}: the admin it was registered to before, if another, and the
     * admin's devices forgotten to stay within {@code maxPerAdmin} (the ones registered longest ago).
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public Registered register(String adminNo, Device device) {
        byte[] details = EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("platform", device.platform())
                .put("appVersion", device.appVersion())
                .put("registeredAt", device.registeredAt().toString()));
        byte[] previous = RedisCalls.await(redis.setGet(keys.deviceOwner(digest(device.token())), bytes(adminNo),
                SetArgs.Builder.ex(timeToLive.toSeconds())));
        String mine = keys.devices(adminNo);
        RedisCalls.await(redis.hset(mine, device.token(), details));
        RedisCalls.await(redis.expire(mine, timeToLive.toSeconds()));
        Optional<String> moved = Optional.ofNullable(previous).map(Devices::text).filter(owner -> !owner.equals(adminNo));
        moved.ifPresent(owner -> {
            RedisCalls.await(redis.hdel(keys.devices(owner), device.token()));
            lastGone(owner);
        });
        List<String> evicted = new ArrayList<>();
        if (RedisCalls.await(redis.hlen(mine)) > maxPerAdmin) {
            List<Device> oldestFirst = new ArrayList<>(of(adminNo).values());
            oldestFirst.sort(Comparator.comparing(Device::registeredAt));
            for (Device old : oldestFirst.subList(0, Math.max(0, oldestFirst.size() - maxPerAdmin))) {
                if (!old.token().equals(device.token()) && remove(adminNo, old.token())) {
                    evicted.add(old.token());
                }
            }
        }
        return new Registered(moved, evicted);
    }

    /** Removes {@code token} from {@code adminNo}'s devices; false if it was not theirs. */
    public boolean remove(String adminNo, String token) {
        long removed = RedisCalls.await(redis.hdel(keys.devices(adminNo), token));
        if (removed > 0) {
            String ownerKey = keys.deviceOwner(digest(token));
            byte[] owner = RedisCalls.await(redis.get(ownerKey));
            if (owner != null && text(owner).equals(adminNo)) {
                RedisCalls.await(redis.del(ownerKey));
            }
            lastGone(adminNo);
        }
        return removed > 0;
    }

    /** Removes a token FCM called unregistered or invalid, whoever holds it. */
    public void forget(String token) {
        String ownerKey = keys.deviceOwner(digest(token));
        byte[] owner = RedisCalls.await(redis.get(ownerKey));
        if (owner != null) {
            RedisCalls.await(redis.hdel(keys.devices(text(owner)), token));
            RedisCalls.await(redis.del(ownerKey));
            lastGone(text(owner));
        }
    }

    /** An admin left without devices leaves every push audience. */
    private void lastGone(String adminNo) {
        if (RedisCalls.await(redis.hlen(keys.devices(adminNo))) == 0) {
            audience.withdraw(adminNo);
        }
    }

    /** The admin's devices, by token; devices not registered again within the time-to-live are forgotten. */
    public Map<String, Device> of(String adminNo) {
        return parse(adminNo, RedisCalls.await(redis.hgetall(keys.devices(adminNo))));
    }

    /** The devices of many admins, read in one pipelined go: the tokens, in the admins' order. */
    public List<String> tokensOf(List<String> admins) {
        List<java.util.concurrent.CompletableFuture<Map<String, byte[]>>> reads = new ArrayList<>(admins.size());
        for (String admin : admins) {
            reads.add(redis.hgetall(keys.devices(admin)).toCompletableFuture());
        }
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < admins.size(); i++) {
            tokens.addAll(parse(admins.get(i), RedisCalls.await(reads.get(i))).keySet());
        }
        return tokens;
    }

    private Map<String, Device> parse(String adminNo, Map<String, byte[]> all) {
        Map<String, Device> devices = new LinkedHashMap<>();
        Instant staleBefore = Instant.now().minus(timeToLive);
        all.forEach((token, details) -> {
            Device device;
            try {
                JsonNode node = EventJson.mapper().readTree(details);
                device = new Device(token, node.path("platform").asText(""), node.path("appVersion").asText(""),
                        Instant.parse(node.path("registeredAt").asText(Instant.EPOCH.toString())));
            } catch (IOException | RuntimeException corrupt) {
                device = new Device(token, "", "", Instant.EPOCH);
            }
            if (device.registeredAt().isBefore(staleBefore)) {
                remove(adminNo, token);
            } else {
                devices.put(token, device);
            }
        });
        return devices;
    }


    private static String digest(String token) {
        return HexFormat.of().formatHex(Sha256.digest(token));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}

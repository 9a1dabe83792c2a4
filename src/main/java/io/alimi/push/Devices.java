package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.event.EventJson;
import io.alimi.event.Sha256;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisCalls;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Admins' mobile devices (FCM registration tokens), in Redis: per admin a hash of token → details, and per token
 * its current owner, so a phone that signs in as another admin moves to that admin (it never keeps receiving the
 * previous one's pushes).
 */
public final class Devices {

    /** What a device told us about itself. */
    public record Device(String token, String platform, String appVersion, Instant registeredAt) {
    }

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;

    public Devices(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys) {
        this.redis = redis;
        this.keys = keys;
    }

    /**
     * Registers {@code device} for {@code adminNo}; returns the admin it was registered to before, if another.
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public Optional<String> register(String adminNo, Device device) {
        byte[] details = EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("platform", device.platform())
                .put("appVersion", device.appVersion())
                .put("registeredAt", device.registeredAt().toString()));
        byte[] previous = RedisCalls.await(redis.setGet(keys.deviceOwner(digest(device.token())), bytes(adminNo)));
        RedisCalls.await(redis.hset(keys.devices(adminNo), device.token(), details));
        Optional<String> moved = Optional.ofNullable(previous).map(Devices::text).filter(owner -> !owner.equals(adminNo));
        moved.ifPresent(owner -> RedisCalls.await(redis.hdel(keys.devices(owner), device.token())));
        return moved;
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
        }
    }

    /** The admin's devices, by token. */
    public Map<String, Device> of(String adminNo) {
        Map<String, byte[]> all = RedisCalls.await(redis.hgetall(keys.devices(adminNo)));
        Map<String, Device> devices = new LinkedHashMap<>();
        all.forEach((token, details) -> {
            try {
                JsonNode node = EventJson.mapper().readTree(details);
                devices.put(token, new Device(token, node.path("platform").asText(""), node.path("appVersion").asText(""),
                        Instant.parse(node.path("registeredAt").asText(Instant.EPOCH.toString()))));
            } catch (IOException | RuntimeException corrupt) {
                devices.put(token, new Device(token, "", "", Instant.EPOCH));
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

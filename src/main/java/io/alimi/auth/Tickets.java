package io.alimi.auth;

import io.alimi.event.Sha256;
import io.alimi.timeline.Keys;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One-time stream tickets: what a browser puts in an EventSource or WebSocket URL instead of its token, since
 * neither can send an {@code Authorization} header.
 *
 * <p>{@code POST /v1/tickets} with the token issues a ticket: 256 random bits, valid for a short time (30 s by
 * default) and for one stream open, on any node. Redeeming it deletes it (Redis {@code GETDEL}), so of two
 * concurrent uses exactly one wins.
 *
 * <p>The ticket stands for the token, which is checked again when the ticket is redeemed (a token revoked in
 * between does not open a stream, and a live stream opened with a ticket is rechecked like one opened with the
 * token). What Redis holds is useless without the ticket: the key is a digest of the ticket and the value is the
 * token encrypted (AES-256-GCM) under a key derived from the ticket, which only its holder has.
 */
public final class Tickets {

    public static final Duration DEFAULT_TIME_TO_LIVE = Duration.ofSeconds(30);
    private static final int TICKET_BYTES = 32;
    private static final int NONCE_BYTES = 12;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final Duration timeToLive;
    private final Duration commandTimeout;

    public Tickets(RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, Duration timeToLive, Duration commandTimeout) {
        this.redis = redis;
        this.keys = keys;
        this.timeToLive = timeToLive;
        this.commandTimeout = commandTimeout;
    }

    public Duration timeToLive() {
        return timeToLive;
    }

    /**
     * A new ticket for {@code token} (which the caller has already checked).
     *
     * @throws IdentityUnavailableException when Redis cannot store it
     */
    public String issue(String token) {
        byte[] raw = new byte[TICKET_BYTES];
        RANDOM.nextBytes(raw);
        String ticket = ENCODER.encodeToString(raw);
        byte[] sealed = seal(ticket, token.getBytes(StandardCharsets.UTF_8));
        String stored = call(redis.set(keys.ticket(id(ticket)), sealed, SetArgs.Builder.nx().px(timeToLive.toMillis())));
        if (!"OK".equals(stored)) {
            throw new IdentityUnavailableException("a ticket could not be stored", null);
        }
        return ticket;
    }

    /**
     * The token a ticket stands for, once: the ticket is gone afterwards. Empty for a ticket that is unknown,
     * used or expired.
     *
     * @throws IdentityUnavailableException when Redis cannot be reached
     */
    public Optional<String> redeem(String ticket) {
        if (ticket.length() != 43 || !ticket.chars().allMatch(Tickets::base64url)) {
            return Optional.empty();
        }
        byte[] sealed = call(redis.getdel(keys.ticket(id(ticket))));
        if (sealed == null) {
            return Optional.empty();
        }
        return open(ticket, sealed).map(bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    private <T> T call(io.lettuce.core.RedisFuture<T> future) {
        try {
            return future.get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IdentityUnavailableException("interrupted while reaching Redis for a ticket", null);
        } catch (Exception e) {
            throw new IdentityUnavailableException("Redis cannot be reached for tickets", null);
        }
    }

    private static String id(String ticket) {
        return ENCODER.encodeToString(Sha256.digest("alimi-ticket-id:" + ticket));
    }

    private static SecretKeySpec key(String ticket) {
        return new SecretKeySpec(Sha256.digest("alimi-ticket-key:" + ticket), "AES");
    }

    private static byte[] seal(String ticket, byte[] token) {
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key(ticket), new GCMParameterSpec(128, nonce));
            byte[] sealed = cipher.doFinal(token);
            return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    private static Optional<byte[]> open(String ticket, byte[] sealed) {
        if (sealed.length <= NONCE_BYTES) {
            return Optional.empty();
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key(ticket), new GCMParameterSpec(128, sealed, 0, NONCE_BYTES));
            return Optional.of(cipher.doFinal(Arrays.copyOfRange(sealed, NONCE_BYTES, sealed.length)));
        } catch (AEADBadTagException e) {
            return Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is part of every JDK", e);
        }
    }

    private static boolean base64url(int c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_';
    }
}

package io.alimi.event;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What makes an event the same event: its CloudEvents {@code source} and {@code id} together (the spec makes the
 * pair unique; two producers that both number their events 1, 2, 3 … send different events).
 *
 * <p>Both digests are computed from an unambiguous form, {@code <length of source>:<source><id>}, so no choice of
 * source and id can collide with another pair by where the boundary falls.
 *
 * @param source the CloudEvents source; null for an entry stored before sources were recorded (its identity is
 *               then its id alone, as it was when it was stored)
 * @param id     the producer's event id
 */
public record EventId(String source, String id) {

    private static final Base64.Encoder KEY_TEXT = Base64.getUrlEncoder().withoutPadding();

    public EventId {
        if (id == null) {
            throw new IllegalArgumentException("an event id is required");
        }
    }

    /**
     * A stable 64-bit digest, the first 8 bytes of a SHA-256: what a cursor and a session remember an event by.
     * For an event without a recorded source it is the digest of the id alone, as cursors of version 1 hold it.
     */
    public long hash() {
        byte[] digest = Sha256.digest(canonical());
        long hash = 0;
        for (int i = 0; i < 8; i++) {
            hash = (hash << 8) | (digest[i] & 0xFF);
        }
        return hash;
    }

    /** 22 characters of base64url (128 bits of a SHA-256): the event's part of a Redis dedup key. */
    public String keyText() {
        byte[] digest = Sha256.digest(canonical());
        return KEY_TEXT.encodeToString(java.util.Arrays.copyOf(digest, 16));
    }

    private byte[] canonical() {
        String text = source == null ? id : source.length() + ":" + source + id;
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return source == null ? id : source + " " + id;
    }
}

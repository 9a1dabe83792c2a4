package io.alimi.event;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where a client stands in every scope it follows: for each scope its epoch and the last stream entry delivered,
 * plus the events delivered through one scope whose copies in other followed scopes have not been passed yet (so
 * they are not delivered twice, even across a reconnect).
 *
 * <p>Clients see it as opaque text: {@code base64url} (no padding) of a small versioned binary form. It is the SSE
 * {@code id:}, the WebSocket {@code cursor} and the long-poll {@code cursor}.
 *
 * <pre>
 * version 1:  u8 1 | varint n | n × (scope, varint epoch, varint millis, varint sequence)
 *                  | varint m | m × (8-byte event hash, varint mask of the scopes still to pass)
 * scope:      u8 kind (0 all, 1 mall, 2 admin, 3 partner) [| varint length | ASCII id]
 * </pre>
 *
 * @param positions one per followed scope, at most {@value #MAX_SCOPES}, no scope twice
 * @param pending   at most {@value #MAX_PENDING}
 */
public record Cursor(List<Position> positions, List<Pending> pending) {

    public static final int VERSION = 1;
    public static final int MAX_SCOPES = 64;
    public static final int MAX_PENDING = 32;
    /** Longer text is refused before decoding: no cursor Alimi writes comes near it. */
    public static final int MAX_TEXT_LENGTH = 8192;

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final Scope.Kind[] KINDS = Scope.Kind.values();

    /**
     * A position in one scope.
     *
     * @param scope  the scope
     * @param epoch  the epoch of its stream as seen by the client; 0 when the stream did not exist yet
     * @param millis the last delivered entry id's time part (0 with sequence 0: nothing delivered yet)
     */
    public record Position(Scope scope, long epoch, long millis, long sequence) {
    }

    /**
     * An event delivered through one scope whose copies in {@code scopes} have not been passed yet.
     *
     * @param eventHash {@link #hash(String)} of the event id
     */
    public record Pending(long eventHash, Set<Scope> scopes) {
        public Pending {
            scopes = Set.copyOf(scopes);
        }
    }

    public Cursor {
        positions = List.copyOf(positions);
        pending = List.copyOf(pending);
        if (positions.size() > MAX_SCOPES || pending.size() > MAX_PENDING) {
            throw new IllegalArgumentException("cursor too large");
        }
    }

    public Optional<Position> position(Scope scope) {
        for (Position position : positions) {
            if (position.scope().equals(scope)) {
                return Optional.of(position);
            }
        }
        return Optional.empty();
    }

    /** A stable 64-bit digest of an event id (the first 8 bytes of its SHA-256). */
    public static long hash(String eventId) {
        byte[] digest = Sha256.digest(eventId.getBytes(StandardCharsets.UTF_8));
        long hash = 0;
        for (int i = 0; i < 8; i++) {
            hash = (hash << 8) | (digest[i] & 0xFF);
        }
        return hash;
    }

    public String encode() {
        List<Scope> scopes = new ArrayList<>(positions.size());
        long[] epochs = new long[positions.size()];
        long[] millis = new long[positions.size()];
        long[] sequences = new long[positions.size()];
        for (int i = 0; i < positions.size(); i++) {
            Position position = positions.get(i);
            scopes.add(position.scope());
            epochs[i] = position.epoch();
            millis[i] = position.millis();
            sequences[i] = position.sequence();
        }
        long[] hashes = new long[pending.size()];
        long[] masks = new long[pending.size()];
        for (int p = 0; p < pending.size(); p++) {
            hashes[p] = pending.get(p).eventHash();
            for (int i = 0; i < scopes.size(); i++) {
                if (pending.get(p).scopes().contains(scopes.get(i))) {
                    masks[p] |= 1L << i;
                }
            }
        }
        return new Encoder(scopes).encode(epochs, millis, sequences, hashes, masks, 0, pending.size());
    }

    /**
     * Writes cursors for one fixed list of scopes, fast: a live connection encodes one per delivered event. Not
     * thread-safe (it reuses its buffer); one per connection.
     */
    public static final class Encoder {
        private final byte[][] scopeHeaders;
        private byte[] buffer;

        public Encoder(List<Scope> scopes) {
            if (scopes.size() > MAX_SCOPES) {
                throw new IllegalArgumentException("more than " + MAX_SCOPES + " scopes");
            }
            scopeHeaders = new byte[scopes.size()][];
            int size = 16;
            for (int i = 0; i < scopes.size(); i++) {
                Scope scope = scopes.get(i);
                byte[] id = scope.id().getBytes(StandardCharsets.US_ASCII);
                byte[] header = new byte[scope.kind() == Scope.Kind.ALL ? 1 : 2 + id.length];
                header[0] = (byte) scope.kind().ordinal();
                if (scope.kind() != Scope.Kind.ALL) {
                    header[1] = (byte) id.length;
                    System.arraycopy(id, 0, header, 2, id.length);
                }
                scopeHeaders[i] = header;
                size += header.length + 30;
            }
            buffer = new byte[size + 8];
        }

        /**
         * Arrays are indexed like the scopes given at construction; the pending from index {@code pendingFrom}, and
         * {@code pendingCount} of them (at most {@value #MAX_PENDING}), apply.
         */
        public String encode(long[] epochs, long[] millis, long[] sequences, long[] pendingHashes, long[] pendingMasks,
                             int pendingFrom, int pendingCount) {
            if (pendingCount > MAX_PENDING) {
                throw new IllegalArgumentException("more than " + MAX_PENDING + " pending");
            }
            int needed = 8 + scopeHeaders.length * 100 + pendingCount * 20;
            if (buffer.length < needed) {
                buffer = new byte[needed];
            }
            int at = 0;
            buffer[at++] = VERSION;
            at = varint(buffer, at, scopeHeaders.length);
            for (int i = 0; i < scopeHeaders.length; i++) {
                byte[] header = scopeHeaders[i];
                System.arraycopy(header, 0, buffer, at, header.length);
                at += header.length;
                at = varint(buffer, at, epochs[i]);
                at = varint(buffer, at, millis[i]);
                at = varint(buffer, at, sequences[i]);
            }
            at = varint(buffer, at, pendingCount);
            for (int p = pendingFrom; p < pendingFrom + pendingCount; p++) {
                long hash = pendingHashes[p];
                for (int shift = 56; shift >= 0; shift -= 8) {
                    buffer[at++] = (byte) (hash >>> shift);
                }
                at = varint(buffer, at, pendingMasks[p]);
            }
            return ENCODER.encodeToString(java.util.Arrays.copyOf(buffer, at));
        }

        private static int varint(byte[] out, int at, long value) {
            long v = value;
            while ((v & ~0x7FL) != 0) {
                out[at++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out[at++] = (byte) v;
            return at;
        }
    }

    /**
     * Decodes cursor text.
     *
     * @throws InvalidEventException with field {@code cursor} and what is wrong; never for a valid cursor
     */
    public static Cursor decode(String text) throws InvalidEventException {
        if (text.isEmpty()) {
            throw new InvalidEventException("cursor", "is empty");
        }
        if (text.length() > MAX_TEXT_LENGTH) {
            throw new InvalidEventException("cursor", "longer than " + Text.count(MAX_TEXT_LENGTH) + " characters");
        }
        byte[] bytes;
        try {
            bytes = DECODER.decode(text);
        } catch (IllegalArgumentException e) {
            throw new InvalidEventException("cursor", "is not base64url text");
        }
        Reader in = new Reader(bytes);
        try {
            int version = in.u8();
            if (version != VERSION) {
                throw new InvalidEventException("cursor", "version " + version + " is not supported");
            }
            int n = (int) in.varint(MAX_SCOPES);
            List<Position> positions = new ArrayList<>(n);
            Set<Scope> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                Scope scope = in.scope();
                if (!seen.add(scope)) {
                    throw new InvalidEventException("cursor", "names scope " + scope + " twice");
                }
                positions.add(new Position(scope, in.varint(0xFFFF_FFFFL), in.varint(Long.MAX_VALUE), in.varint(Long.MAX_VALUE)));
            }
            int m = (int) in.varint(MAX_PENDING);
            List<Pending> pending = new ArrayList<>(m);
            for (int i = 0; i < m; i++) {
                long hash = in.u64();
                long mask = in.varint(Long.MAX_VALUE);
                if (n < 64 && (mask >>> n) != 0) {
                    throw new InvalidEventException("cursor", "refers to a scope it does not list");
                }
                Set<Scope> scopes = new HashSet<>();
                for (int bit = 0; bit < n; bit++) {
                    if ((mask & (1L << bit)) != 0) {
                        scopes.add(positions.get(bit).scope());
                    }
                }
                pending.add(new Pending(hash, scopes));
            }
            if (in.remaining() != 0) {
                throw new InvalidEventException("cursor", "has trailing bytes");
            }
            return new Cursor(positions, pending);
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new InvalidEventException("cursor", "is truncated");
        }
    }

    /** Bounds-checked reading; any index past the end surfaces as "truncated". */
    private static final class Reader {
        private final byte[] bytes;
        private int at;

        Reader(byte[] bytes) {
            this.bytes = bytes;
        }

        int u8() {
            return bytes[at++] & 0xFF;
        }

        long u64() {
            long value = 0;
            for (int i = 0; i < 8; i++) {
                value = (value << 8) | u8();
            }
            return value;
        }

        long varint(long max) throws InvalidEventException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = u8();
                value |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    if (value < 0 || value > max) {
                        throw new InvalidEventException("cursor", "holds an out-of-range number");
                    }
                    return value;
                }
            }
            throw new InvalidEventException("cursor", "holds an overlong number");
        }

        Scope scope() throws InvalidEventException {
            int kind = u8();
            if (kind >= KINDS.length) {
                throw new InvalidEventException("cursor", "holds an unknown scope kind");
            }
            if (KINDS[kind] == Scope.Kind.ALL) {
                return Scope.ALL;
            }
            int length = (int) varint(Scope.MAX_ID_LENGTH);
            if (length > bytes.length - at) {
                throw new ArrayIndexOutOfBoundsException();
            }
            String id = new String(bytes, at, length, StandardCharsets.US_ASCII);
            at += length;
            if (!Scope.validId(id)) {
                throw new InvalidEventException("cursor", "holds an invalid scope id");
            }
            return new Scope(KINDS[kind], id);
        }

        int remaining() {
            return bytes.length - at;
        }
    }
}

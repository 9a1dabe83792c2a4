package io.alimi.event;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * Where a client stands in the scopes it follows: what the client has been handed, in a form that fits in a
 * {@code Last-Event-ID} header (at most {@value #MAX_WRITTEN_LENGTH} characters as Alimi writes it) however many
 * scopes it follows.
 *
 * <p>A cursor says, of the set of scopes its stream followed (its <em>followed set</em>):
 * <ul>
 *   <li>every entry of every followed scope at or before the <b>watermark</b> (a millisecond of the Redis clock,
 *       which stream entry ids are made of) has been handed out, or passed as a copy of an event handed out;</li>
 *   <li>for the few scopes handed entries after the watermark, exactly how far: their <b>marks</b>;</li>
 *   <li>which events were handed out whose copies in other followed scopes are still to come (<b>pending</b>), so
 *       those copies are not handed out again.</li>
 * </ul>
 * A scope the followed set does not contain (a broader page, a newly granted mall) resumes from the watermark:
 * the time the cursor was made. The followed set travels in the cursor when it is small ({@link Followed.Listed});
 * a large one (an operator of thousands of malls) travels as a digest, the set itself being kept in Redis for
 * the dedup window ({@link Followed.Stored}), so that a node resuming the cursor knows exactly what it vouches for.
 *
 * <p>Clients see it as opaque text: {@code base64url} (no padding) of a small versioned binary form. It is the SSE
 * {@code id:}, the WebSocket {@code cursor} and the long-poll {@code cursor}.
 *
 * <pre>
 * version 2:  u8 2 | u8 form | followed set | varint watermark | varint k | k × mark | varint m | m × u64 hash
 *   form 0 (listed):  varint n | n × scope, sorted, distinct
 *   form 1 (stored):  u64 digest of the sorted set ({@link #digest})
 *   mark:             varint index step (index in the sorted set minus the previous mark's index plus one, so
 *                     indexes ascend) | varint millis above the watermark (at least 1) | varint sequence
 *   scope:            u8 kind (0 all, 1 mall, 2 admin, 3 partner) [| varint length | ASCII id]
 * version 1 (still read):
 *              u8 1 | varint n | n × (scope, varint epoch, varint millis, varint sequence)
 *                   | varint m | m × (u64 hash of the event id, varint mask of the scopes still to pass)
 * </pre>
 *
 * @param version   1 or 2
 * @param watermark see above; for version 1, the newest millisecond its positions name
 * @param followed  the followed set, or its digest
 * @param marks     positions after the watermark, by ascending index in the sorted followed set; for version 1
 *                  one per followed scope, with its epoch
 * @param pending   hashes ({@link EventId#hash}) of events handed out whose copies are still to come
 */
public record Cursor(int version, long watermark, Followed followed, List<Mark> marks, long[] pending) {

    public static final int VERSION = 2;
    /** The largest millisecond a cursor may name (year 6429): arithmetic on positions can never overflow. */
    public static final long MAX_MILLIS = 1L << 47;
    /** The largest entry sequence number a cursor may name. */
    public static final long MAX_SEQUENCE = 1L << 62;
    /** Pending events a cursor names at most; a session remembers more and resumes the rest through dedup records. */
    public static final int MAX_PENDING = 32;
    /**
     * A followed set whose encoding is larger than this travels as a digest ({@link Followed.Stored}): a listed set
     * rides in every message's cursor, so only a small one (about 16 scopes, which most admins have) is worth it.
     */
    public static final int MAX_LISTED_BYTES = 128;
    /** The most characters a cursor Alimi writes may have: it fits a {@code Last-Event-ID} header anywhere. */
    public static final int MAX_WRITTEN_LENGTH = 2048;
    /** Bytes of marks a written cursor holds at most, so that it stays within {@link #MAX_WRITTEN_LENGTH}. */
    public static final int MAX_MARK_BYTES = 1536 - 1 - 1 - MAX_LISTED_BYTES - 10 - 3 - 3 - 8 * MAX_PENDING;
    /** Longer text is refused before decoding. */
    public static final int MAX_TEXT_LENGTH = 8192;
    /** Version 1 cursors named at most this many scopes. */
    static final int V1_MAX_SCOPES = 64;

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final Scope.Kind[] KINDS = Scope.Kind.values();

    /** The set of scopes a cursor's stream followed. */
    public sealed interface Followed {
        /** Small enough to travel in the cursor: the scopes themselves, sorted. */
        record Listed(List<Scope> scopes) implements Followed {
            public Listed {
                scopes = List.copyOf(scopes);
            }
        }

        /** Too large: its {@link #digest}; the set is kept in Redis under {@code alimi:fs:<hex digest>}. */
        record Stored(long digest) implements Followed {
            public String hex() {
                return HexFormat.of().toHexDigits(digest);
            }
        }
    }

    /**
     * A position in one followed scope.
     *
     * @param index    the scope's index in the sorted followed set
     * @param millis   with {@code sequence}: the last entry handed out or passed in that scope
     * @param epoch    the epoch the client saw (version 1 only; -1 in version 2, where a stream's epoch is its
     *                 creation time and is compared with the position itself)
     */
    public record Mark(int index, long millis, long sequence, long epoch) {
    }

    public Cursor {
        marks = List.copyOf(marks);
        pending = pending.clone();
    }

    /** The sorted, distinct scopes of {@code scopes}, as a followed set is ordered. */
    public static List<Scope> sorted(java.util.Collection<Scope> scopes) {
        return new java.util.TreeSet<>(scopes).stream().toList();
    }

    /** A stable 64-bit digest of a sorted set of scopes (the first 8 bytes of a SHA-256 of their encoding). */
    public static long digest(List<Scope> sortedScopes) {
        byte[] bytes = encodeScopes(sortedScopes);
        byte[] sha = Sha256.digest(bytes);
        long digest = 0;
        for (int i = 0; i < 8; i++) {
            digest = (digest << 8) | (sha[i] & 0xFF);
        }
        return digest;
    }

    /** The binary form of a sorted set of scopes: how a listed set travels and a stored set is kept. */
    public static byte[] encodeScopes(List<Scope> sortedScopes) {
        Buffer out = new Buffer(sortedScopes.size() * 8 + 8);
        out.varint(sortedScopes.size());
        for (Scope scope : sortedScopes) {
            out.scope(scope);
        }
        return out.bytes();
    }

    /**
     * Reads a set written by {@link #encodeScopes}.
     *
     * @throws InvalidEventException when the bytes are not such a set
     */
    public static List<Scope> decodeScopes(byte[] bytes) throws InvalidEventException {
        Reader in = new Reader(bytes);
        try {
            List<Scope> scopes = in.scopes(Integer.MAX_VALUE);
            if (in.remaining() != 0) {
                throw new InvalidEventException("cursor", "has trailing bytes");
            }
            return scopes;
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new InvalidEventException("cursor", "is truncated");
        }
    }

    /**
     * Writes cursors for one followed set, fast: a live connection writes one per item it hands out. Not
     * thread-safe (it reuses its buffer); one per connection.
     */
    public static final class Writer {
        private final byte[] prefix;
        private byte[] buffer;

        /** @param sortedScopes the followed set, sorted and distinct */
        public Writer(List<Scope> sortedScopes) {
            byte[] set = encodeScopes(sortedScopes);
            if (set.length <= MAX_LISTED_BYTES) {
                prefix = new byte[2 + set.length];
                prefix[1] = 0;
                System.arraycopy(set, 0, prefix, 2, set.length);
            } else {
                prefix = new byte[2 + 8];
                prefix[1] = 1;
                long digest = digest(sortedScopes);
                for (int i = 0; i < 8; i++) {
                    prefix[2 + i] = (byte) (digest >>> (56 - 8 * i));
                }
            }
            prefix[0] = VERSION;
            buffer = new byte[prefix.length + 64];
        }

        /** Whether the followed set travels as a digest (and must be stored for cursors to resume exactly). */
        public boolean stored() {
            return prefix[1] == 1;
        }

        /**
         * @param marked      indexes (ascending) of the scopes positioned after the watermark, {@code markCount}
         *                    of them
         * @param millis      per scope index, the millisecond of its position
         * @param sequences   per scope index, the sequence of its position
         * @param pending     event hashes, {@code pendingCount} of them from {@code pendingFrom}
         */
        public String write(long watermark, int[] marked, int markCount, long[] millis, long[] sequences,
                            long[] pending, int pendingFrom, int pendingCount) {
            int needed = prefix.length + 10 + 3 + markCount * 24 + 3 + pendingCount * 8;
            if (buffer.length < needed) {
                buffer = new byte[Math.max(needed, buffer.length * 2)];
            }
            System.arraycopy(prefix, 0, buffer, 0, prefix.length);
            int at = prefix.length;
            at = varint(buffer, at, watermark);
            at = varint(buffer, at, markCount);
            int previous = -1;
            for (int k = 0; k < markCount; k++) {
                int index = marked[k];
                at = varint(buffer, at, index - previous - 1);
                previous = index;
                at = varint(buffer, at, millis[index] - watermark);
                at = varint(buffer, at, sequences[index]);
            }
            at = varint(buffer, at, pendingCount);
            for (int p = pendingFrom; p < pendingFrom + pendingCount; p++) {
                long hash = pending[p];
                for (int shift = 56; shift >= 0; shift -= 8) {
                    buffer[at++] = (byte) (hash >>> shift);
                }
            }
            return ENCODER.encodeToString(Arrays.copyOf(buffer, at));
        }

        /** Bytes one mark takes: what a session counts against {@link #MAX_MARK_BYTES}. */
        public static int markBytes(int indexStep, long millisAbove, long sequence) {
            return varintLength(indexStep) + varintLength(millisAbove) + varintLength(sequence);
        }
    }

    static int varintLength(long value) {
        int length = 1;
        long v = value;
        while ((v & ~0x7FL) != 0) {
            length++;
            v >>>= 7;
        }
        return length;
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

    /**
     * Decodes cursor text. Every value it accepts is safe to compute with: positions are at most
     * {@link #MAX_MILLIS} and {@link #MAX_SEQUENCE}, marks name distinct, ascending indexes.
     *
     * @throws InvalidEventException with field {@code cursor} and what is wrong; never for a cursor Alimi wrote
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
            Cursor cursor = switch (version) {
                case 1 -> decodeV1(in);
                case 2 -> decodeV2(in);
                default -> throw new InvalidEventException("cursor", "version " + version + " is not supported");
            };
            if (in.remaining() != 0) {
                throw new InvalidEventException("cursor", "has trailing bytes");
            }
            return cursor;
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new InvalidEventException("cursor", "is truncated");
        }
    }

    private static Cursor decodeV2(Reader in) throws InvalidEventException {
        int form = in.u8();
        Followed followed;
        int setSize;
        if (form == 0) {
            List<Scope> scopes = in.scopes(Integer.MAX_VALUE);
            followed = new Followed.Listed(scopes);
            setSize = scopes.size();
        } else if (form == 1) {
            followed = new Followed.Stored(in.u64());
            setSize = Integer.MAX_VALUE;
        } else {
            throw new InvalidEventException("cursor", "holds an unknown form of scope set");
        }
        long watermark = in.varint(MAX_MILLIS);
        int k = (int) in.varint(in.remaining());
        List<Mark> marks = new ArrayList<>(k);
        long index = -1;
        for (int i = 0; i < k; i++) {
            index += 1 + in.varint(Integer.MAX_VALUE);
            if (index >= setSize) {
                throw new InvalidEventException("cursor", "refers to a scope it does not list");
            }
            long millis = watermark + in.varint(MAX_MILLIS);
            long sequence = in.varint(MAX_SEQUENCE);
            if (millis == watermark || millis > MAX_MILLIS) {
                throw new InvalidEventException("cursor", "holds an out-of-range number");
            }
            marks.add(new Mark((int) index, millis, sequence, -1));
        }
        int m = (int) in.varint(MAX_PENDING);
        long[] pending = new long[m];
        for (int i = 0; i < m; i++) {
            pending[i] = in.u64();
        }
        return new Cursor(2, watermark, followed, marks, pending);
    }

    private static Cursor decodeV1(Reader in) throws InvalidEventException {
        int n = (int) in.varint(V1_MAX_SCOPES);
        List<Scope> scopes = new ArrayList<>(n);
        long[][] values = new long[n][];
        for (int i = 0; i < n; i++) {
            scopes.add(in.scope());
            values[i] = new long[] {in.varint(0xFFFF_FFFFL), in.varint(MAX_MILLIS), in.varint(MAX_SEQUENCE)};
        }
        List<Scope> sorted = sorted(scopes);
        if (sorted.size() != n) {
            throw new InvalidEventException("cursor", "names a scope twice");
        }
        List<Mark> marks = new ArrayList<>(n);
        long newest = 0;
        for (int i = 0; i < n; i++) {
            newest = Math.max(newest, values[i][1]);
        }
        for (int s = 0; s < n; s++) {
            int i = scopes.indexOf(sorted.get(s));
            marks.add(new Mark(s, values[i][1], values[i][2], values[i][0]));
        }
        int m = (int) in.varint(MAX_PENDING);
        long[] pending = new long[m];
        for (int i = 0; i < m; i++) {
            pending[i] = in.u64();
            long mask = in.varint(Long.MAX_VALUE);
            if (n < 64 && (mask >>> n) != 0) {
                throw new InvalidEventException("cursor", "refers to a scope it does not list");
            }
        }
        return new Cursor(1, newest, new Followed.Listed(sorted), marks, pending);
    }

    /** A growable byte buffer for the encodings above. */
    private static final class Buffer {
        private byte[] bytes;
        private int length;

        Buffer(int capacity) {
            bytes = new byte[Math.max(16, capacity)];
        }

        void varint(long value) {
            reserve(10);
            length = Cursor.varint(bytes, length, value);
        }

        void scope(Scope scope) {
            byte[] id = scope.id().getBytes(StandardCharsets.US_ASCII);
            reserve(2 + id.length + 10);
            bytes[length++] = (byte) scope.kind().ordinal();
            if (scope.kind() != Scope.Kind.ALL) {
                length = Cursor.varint(bytes, length, id.length);
                System.arraycopy(id, 0, bytes, length, id.length);
                length += id.length;
            }
        }

        private void reserve(int more) {
            if (length + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }

        byte[] bytes() {
            return Arrays.copyOf(bytes, length);
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

        /** A sorted, distinct list of scopes: count, then each. */
        List<Scope> scopes(int max) throws InvalidEventException {
            // Each scope takes at least one byte: a count beyond what is left is a lie, not a reason to allocate.
            int n = (int) varint(Math.min(max, remaining()));
            List<Scope> scopes = new ArrayList<>(n);
            Scope previous = null;
            for (int i = 0; i < n; i++) {
                Scope scope = scope();
                if (previous != null && previous.compareTo(scope) >= 0) {
                    throw new InvalidEventException("cursor", "lists its scopes out of order or twice");
                }
                scopes.add(scope);
                previous = scope;
            }
            return scopes;
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

    @Override
    public boolean equals(Object other) {
        return other instanceof Cursor c && c.version == version && c.watermark == watermark
                && c.followed.equals(followed) && c.marks.equals(marks) && Arrays.equals(c.pending, pending);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(version, watermark, followed, marks, Arrays.hashCode(pending));
    }

    @Override
    public String toString() {
        return "Cursor[v" + version + " watermark " + watermark + ", " + followed + ", marks " + marks
                + ", pending " + pending.length + "]";
    }
}

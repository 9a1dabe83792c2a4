package io.alimi.support;

import io.alimi.event.Cursor;
import io.alimi.event.Scope;
import io.alimi.timeline.StreamId;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** Cursor text made by hand, as a client (or an attacker) could send it. */
public final class Cursors {

    private Cursors() {
    }

    /**
     * A version 2 cursor over {@code followed}: everything through {@code watermark}, {@code marks} above it.
     *
     * @param pending event hashes ({@link io.alimi.event.EventId#hash}) handed out with copies still to come
     */
    public static String of(List<Scope> followed, long watermark, Map<Scope, StreamId> marks, long... pending) {
        List<Scope> sorted = Cursor.sorted(followed);
        long[] millis = new long[sorted.size()];
        long[] sequences = new long[sorted.size()];
        int[] marked = new int[marks.size()];
        int k = 0;
        for (int i = 0; i < sorted.size(); i++) {
            StreamId mark = marks.get(sorted.get(i));
            if (mark != null) {
                millis[i] = mark.millis();
                sequences[i] = mark.sequence();
                marked[k++] = i;
            }
        }
        if (k != marks.size()) {
            throw new IllegalArgumentException("marks name scopes not followed");
        }
        return new Cursor.Writer(sorted).write(watermark, marked, k, millis, sequences, pending, 0, pending.length);
    }

    /** A cursor over {@code followed} that has everything through {@code watermark}. */
    public static String at(List<Scope> followed, long watermark) {
        return of(followed, watermark, Map.of());
    }

    /** A version 1 cursor (as nodes wrote before version 2): per scope its epoch and position, in this order. */
    public static String v1(Map<Scope, long[]> epochMillisSequence) {
        ByteBuffer out = ByteBuffer.allocate(8192);
        out.put((byte) 1);
        varint(out, epochMillisSequence.size());
        for (Map.Entry<Scope, long[]> entry : epochMillisSequence.entrySet()) {
            Scope scope = entry.getKey();
            out.put((byte) scope.kind().ordinal());
            if (scope.kind() != Scope.Kind.ALL) {
                byte[] id = scope.id().getBytes(StandardCharsets.US_ASCII);
                varint(out, id.length);
                out.put(id);
            }
            for (long value : entry.getValue()) {
                varint(out, value);
            }
        }
        varint(out, 0);
        byte[] bytes = new byte[out.position()];
        out.flip().get(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static void varint(ByteBuffer out, long value) {
        long v = value;
        while ((v & ~0x7FL) != 0) {
            out.put((byte) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.put((byte) v);
    }
}

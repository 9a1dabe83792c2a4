package io.alimi.hub;

import io.alimi.event.Cursor;
import io.alimi.event.Scope;
import io.alimi.timeline.StreamId;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one client has been handed, scope by scope: the bookkeeping behind "each event exactly once", kept apart
 * from any I/O so it can be read and tested on its own.
 *
 * <p>It holds, for each followed scope, the exact position (the last entry handed out or passed) and the epoch
 * of its stream; the <b>watermark</b>, a millisecond at or before which every followed scope has been handed
 * everything; and the events handed out whose copies in other followed scopes are still to come (<b>pending</b>).
 * The invariants it keeps:
 * <ul>
 *   <li>a position only moves forward, and only to an entry the caller has taken in order;</li>
 *   <li>an event is handed out on the first of its copies taken; each other followed copy is only passed (its
 *       scope's position moves) — the event is pending until then;</li>
 *   <li>the cursor it writes names exactly the scopes positioned after the watermark (<b>marks</b>), the newest
 *       {@value Cursor#MAX_PENDING} pending events, and the followed set; it never claims more than was handed out
 *       and never less, so resuming from it neither repeats nor skips an entry.</li>
 * </ul>
 * The caller (a {@link Session}) raises the watermark only to a point it knows is complete: nothing at or before
 * it can still arrive. Marks are bounded ({@link Cursor#MAX_MARK_BYTES}): {@link #fits} says whether one more
 * would still fit, so the caller can wait for the watermark to pass instead. One writer thread; not thread-safe.
 */
final class Ledger {

    /** Pending events remembered; one more and the session ends (the client resumes, through dedup records). */
    static final int MAX_PENDING = 1_024;
    /**
     * How long a pending event whose copies are unknown (named by a cursor, never seen here) is still written into
     * cursors, in watermark milliseconds: copies of one event are appended together, so by then they have come.
     */
    static final long UNKNOWN_COPIES_WINDOW_MILLIS = 60_000;

    private final Scope[] scopes;
    /** Scope to index for a large set; a small one (most clients: a handful of scopes) is scanned. */
    private final Map<Scope, Integer> indexes;
    private final long[] epochs;
    private final long[] millis;
    private final long[] sequences;
    private final Cursor.Writer writer;
    private long watermark;
    /** Indexes of the scopes positioned after the watermark, unordered; {@code marked[i]} says whether i is in it. */
    private int[] marks = new int[4];
    private int markCount;
    private final boolean[] marked;
    private int markBytes;
    /** Allocated on first use: most clients never see an event sent to two of their scopes. */
    private LinkedHashMap<Long, Pending> pending;
    private long[] pendingScratch;
    private static final long[] NONE = new long[0];
    /** Up to this many scopes, finding one's index is a scan: no map per connection. */
    private static final int SCANNED = 16;

    /**
     * An event handed out (or named by a cursor) whose copies are still to come.
     *
     * @param scopes the followed scopes whose copy is still to come, or null when not known (skip every copy)
     * @param since  for unknown copies: the watermark when it was adopted
     */
    private record Pending(int[] scopes, long since) {
    }

    /** @param sortedScopes the followed set, sorted and distinct ({@link Cursor#sorted}) */
    Ledger(List<Scope> sortedScopes) {
        this.scopes = sortedScopes.toArray(Scope[]::new);
        if (scopes.length > SCANNED) {
            this.indexes = new HashMap<>(scopes.length * 2);
            for (int i = 0; i < scopes.length; i++) {
                indexes.put(scopes[i], i);
            }
        } else {
            this.indexes = null;
        }
        this.epochs = new long[scopes.length];
        this.millis = new long[scopes.length];
        this.sequences = new long[scopes.length];
        this.marked = new boolean[scopes.length];
        this.writer = new Cursor.Writer(sortedScopes);
    }

    int size() {
        return scopes.length;
    }

    Scope scope(int i) {
        return scopes[i];
    }

    /** The index of {@code scope}, or -1 if it is not followed. */
    int index(Scope scope) {
        if (indexes == null) {
            for (int i = 0; i < scopes.length; i++) {
                if (scopes[i].equals(scope)) {
                    return i;
                }
            }
            return -1;
        }
        Integer i = indexes.get(scope);
        return i == null ? -1 : i;
    }

    /** Whether cursors carry a digest of the followed set rather than the set (which must then be stored). */
    boolean storedSet() {
        return writer.stored();
    }

    long epoch(int i) {
        return epochs[i];
    }

    void epoch(int i, long epoch) {
        epochs[i] = epoch;
    }

    StreamId position(int i) {
        return new StreamId(millis[i], sequences[i]);
    }

    /** Whether scope i's position is exactly {@code id} or after it. */
    boolean passed(int i, StreamId id) {
        return millis[i] > id.millis() || (millis[i] == id.millis() && sequences[i] >= id.sequence());
    }

    long watermark() {
        return watermark;
    }

    /**
     * Moves scope i to {@code id}: after a take, a gap, or a reset (which may move it back to the stream's start,
     * the one move that goes backwards).
     */
    void move(int i, StreamId id) {
        millis[i] = id.millis();
        sequences[i] = id.sequence();
        boolean above = id.millis() > watermark;
        if (above && !marked[i]) {
            addMark(i);
        } else if (!above && marked[i]) {
            removeMark(i);
            recountMarkBytes();
        } else if (above) {
            recountMarkBytes();
        }
    }

    /**
     * Sets the watermark: the caller has handed out everything of every followed scope up to and including this
     * millisecond. Normally it only rises; if it falls (a Redis clock stepped back), scopes positioned after it
     * are marked again.
     */
    void watermark(long value) {
        if (value == watermark) {
            return;
        }
        boolean rising = value > watermark;
        watermark = value;
        if (rising) {
            // One pass keeping the marks still above it.
            int kept = 0;
            for (int k = 0; k < markCount; k++) {
                int i = marks[k];
                if (millis[i] > watermark) {
                    marks[kept++] = i;
                } else {
                    marked[i] = false;
                }
            }
            markCount = kept;
            if (markCount == 0 && marks.length > 64) {
                marks = new int[4];
            }
        } else {
            for (int i = 0; i < scopes.length; i++) {
                if (millis[i] > watermark && !marked[i]) {
                    addMark(i);
                }
            }
        }
        recountMarkBytes();
    }

    /** Whether moving scope i to {@code id} keeps the cursor's marks within {@link Cursor#MAX_MARK_BYTES}. */
    boolean fits(int i, StreamId id) {
        if (marked[i] || id.millis() <= watermark) {
            return true;
        }
        return markBytes + markCost(id.millis(), id.sequence()) <= Cursor.MAX_MARK_BYTES;
    }

    /** How many scopes are positioned after the watermark. */
    int marked() {
        return markCount;
    }

    private int markCost(long positionMillis, long sequence) {
        // The index step is bounded by the set size: counted at its largest, so the sum only overestimates.
        return Cursor.Writer.markBytes(scopes.length, positionMillis - watermark, sequence);
    }

    private void addMark(int i) {
        if (markCount == marks.length) {
            marks = Arrays.copyOf(marks, marks.length * 2);
        }
        marks[markCount++] = i;
        marked[i] = true;
        markBytes += markCost(millis[i], sequences[i]);
    }

    private void removeMark(int i) {
        for (int k = 0; k < markCount; k++) {
            if (marks[k] == i) {
                marks[k] = marks[--markCount];
                break;
            }
        }
        marked[i] = false;
        if (markCount == 0 && marks.length > 64) {
            marks = new int[4];
        }
    }

    private void recountMarkBytes() {
        int bytes = 0;
        for (int k = 0; k < markCount; k++) {
            bytes += markCost(millis[marks[k]], sequences[marks[k]]);
        }
        markBytes = bytes;
    }

    // Pending events

    /**
     * Whether the copy in scope i of the event {@code hash} is a copy of an event already handed out; if so, that
     * copy is no longer to come.
     */
    boolean passCopy(long hash, int i) {
        if (pending == null) {
            return false;
        }
        Pending p = pending.get(hash);
        if (p == null) {
            return false;
        }
        if (p.scopes() == null) {
            return true;
        }
        int left = 0;
        for (int s : p.scopes()) {
            if (s != i) {
                left++;
            }
        }
        if (left == p.scopes().length) {
            // Handed out already, and this copy was not expected (it was passed once before): still a copy.
            return true;
        }
        if (left == 0) {
            pending.remove(hash);
        } else {
            int[] rest = new int[left];
            int r = 0;
            for (int s : p.scopes()) {
                if (s != i) {
                    rest[r++] = s;
                }
            }
            pending.put(hash, new Pending(rest, p.since()));
        }
        return true;
    }

    /**
     * Remembers that the event {@code hash} was handed out and its copies in {@code scopes} are still to come;
     * false when that would be more than {@link #MAX_PENDING} (nothing is remembered: the caller ends the session).
     */
    boolean expect(long hash, int[] scopes) {
        if (pending == null) {
            pending = new LinkedHashMap<>();
        }
        Pending existing = pending.get(hash);
        if (existing != null) {
            if (existing.scopes() != null) {
                int[] merged = Arrays.copyOf(existing.scopes(), existing.scopes().length + scopes.length);
                System.arraycopy(scopes, 0, merged, existing.scopes().length, scopes.length);
                pending.put(hash, new Pending(Arrays.stream(merged).distinct().toArray(), existing.since()));
            }
            return true;
        }
        if (pending.size() >= MAX_PENDING) {
            return false;
        }
        pending.put(hash, new Pending(scopes, 0));
        return true;
    }

    /** A cursor says {@code hash} was handed out with copies still to come, but not where: skip every copy. */
    void adopt(long hash) {
        if (pending == null) {
            pending = new LinkedHashMap<>();
        }
        pending.putIfAbsent(hash, new Pending(null, watermark));
    }

    boolean isPending(long hash) {
        return pending != null && pending.containsKey(hash);
    }

    int pendingCount() {
        return pending == null ? 0 : pending.size();
    }

    // The cursor

    /** The cursor as it stands. */
    String cursor() {
        int[] ordered = Arrays.copyOf(marks, markCount);
        Arrays.sort(ordered);
        int named = 0;
        if (pending != null && !pending.isEmpty()) {
            if (pendingScratch == null) {
                pendingScratch = new long[Cursor.MAX_PENDING];
            }
            // The newest first-hand ones; unknown copies only while they may still come.
            int skip = Math.max(0, pending.size() - Cursor.MAX_PENDING);
            Iterator<Map.Entry<Long, Pending>> all = pending.entrySet().iterator();
            while (all.hasNext()) {
                Map.Entry<Long, Pending> p = all.next();
                if (skip > 0) {
                    skip--;
                    continue;
                }
                if (p.getValue().scopes() == null && watermark - p.getValue().since() > UNKNOWN_COPIES_WINDOW_MILLIS) {
                    continue;
                }
                pendingScratch[named++] = p.getKey();
            }
        }
        return writer.write(watermark, ordered, ordered.length, millis, sequences, named == 0 ? NONE : pendingScratch, 0, named);
    }
}

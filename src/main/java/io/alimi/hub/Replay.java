package io.alimi.hub;

import io.alimi.event.Scope;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;
import io.alimi.timeline.Timeline.EntryRef;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * What a resuming client missed, decided first and read after, a piece at a time.
 *
 * <p><b>The plan.</b> The newest {@code budget} entries after each scope's position, across all its scopes together
 * and within {@code maxBytes} of envelopes (the newest is taken whatever its size), chosen from entry ids and sizes
 * alone ({@link Timeline#idsNewest}), read newest first and merged: the work of a resume is bounded by the budget
 * however many scopes the client follows and however long it was away. A scope with more entries than make the cut
 * is reported {@code behind}: the client gets its newest entries and a gap naming the older ones (still on the
 * timeline API). Only scopes whose stream has something after the client's position are read at all (the caller
 * knows from each stream's bounds), each in pages sized so that all first pages together hold about twice the
 * budget.
 *
 * <p><b>The pieces.</b> The planned entries, in entry-id order across scopes, are then read and handed out in
 * pieces of at most {@code alimi.relay.replay-piece} entries and {@link #PIECE_BYTES} bytes: a replay is written as it is
 * read, and its memory is one piece, not the whole replay. An entry trimmed away between the plan and its piece is
 * simply not read; the session sees the hole from the next entry's predecessor, as it would live.
 */
final class Replay {

    /** Bytes of envelopes of one piece at most (a single larger entry is a piece of its own). */
    static final long PIECE_BYTES = 256 * 1024;

    /** As sessions hand out: by entry id, then scope. */
    private static final Comparator<Planned> IN_ORDER = Comparator.comparing(Planned::id).thenComparing(Planned::scope);

    /** A scope to read: entries after {@code after}. */
    record Source(Scope scope, StreamId after) {
    }

    /** An entry chosen for the replay: its scope, id and envelope size. */
    record Planned(Scope scope, StreamId id, int bytes) {
    }

    /** A scope some of whose entries after its position did not make the cut: the newest of those left out. */
    record Behind(Source source, StreamId through) {
    }

    /** What to replay: the scopes behind, and the entries chosen, in the order they are handed out. */
    record Plan(List<Behind> behind, List<Planned> entries) {
    }

    private Replay() {
    }

    /**
     * @param await waits for a Redis reply (the session's way, interruptible)
     */
    static Plan plan(Timeline timeline, List<Source> sources, int budget, long maxBytes,
                     Function<CompletableFuture<List<EntryRef>>, List<EntryRef>> await) {
        if (sources.isEmpty()) {
            return new Plan(List.of(), List.of());
        }
        int page = Math.max(1, Math.min(budget + 1, 2 * budget / sources.size() + 1));
        List<Reader> readers = new ArrayList<>(sources.size());
        List<CompletableFuture<List<EntryRef>>> first = new ArrayList<>(sources.size());
        for (Source source : sources) {
            readers.add(new Reader(source, page));
            first.add(timeline.idsNewest(source.scope(), source.after(), null, page));
        }
        PriorityQueue<Reader> newest = new PriorityQueue<>(Comparator.<Reader, StreamId>comparing(r -> r.head().id())
                .thenComparing(r -> r.source.scope()).reversed());
        for (int i = 0; i < readers.size(); i++) {
            Reader reader = readers.get(i);
            reader.filled(await.apply(first.get(i)));
            if (!reader.buffer.isEmpty()) {
                newest.add(reader);
            }
        }
        List<Planned> chosen = new ArrayList<>(Math.min(budget, 1024));
        long bytes = 0;
        while (chosen.size() < budget && !newest.isEmpty()) {
            int size = newest.peek().head().bytes();
            if (!chosen.isEmpty() && bytes + size > maxBytes) {
                // Left in its buffer: its scope reports a gap through it, as when the entry budget runs out.
                break;
            }
            Reader reader = newest.poll();
            EntryRef ref = reader.buffer.poll();
            reader.oldestTaken = ref.id();
            chosen.add(new Planned(reader.source.scope(), ref.id(), ref.bytes()));
            bytes += size;
            if (reader.buffer.isEmpty() && !reader.exhausted) {
                reader.filled(await.apply(timeline.idsNewest(reader.source.scope(), reader.source.after(),
                        reader.oldestTaken, page)));
            }
            if (!reader.buffer.isEmpty()) {
                newest.add(reader);
            }
        }
        List<Behind> behind = new ArrayList<>();
        for (Reader reader : readers) {
            // A reader is refilled as soon as it runs dry, so what it has not handed over is in its buffer.
            if (!reader.buffer.isEmpty()) {
                behind.add(new Behind(reader.source, reader.buffer.peek().id()));
            }
        }
        chosen.sort(IN_ORDER);
        return new Plan(behind, chosen);
    }

    /** The planned entries, read a piece at a time, in order. Not thread-safe: the session's writer reads it. */
    static final class Pieces {
        private final Timeline timeline;
        private final List<Planned> planned;
        private final int pieceEntries;
        private int next;

        Pieces(Timeline timeline, List<Planned> planned, int pieceEntries) {
            this.timeline = timeline;
            this.planned = planned;
            this.pieceEntries = pieceEntries;
        }

        boolean hasNext() {
            return next < planned.size();
        }

        /** The millisecond of the next entry to be read (only while {@link #hasNext}). */
        long nextMillis() {
            return planned.get(next).id().millis();
        }

        /**
         * The next piece: its entries as they are now (any trimmed since the plan are missing), in entry-id order
         * across scopes.
         */
        List<LiveEvent> next(Function<CompletableFuture<List<Entry>>, List<Entry>> await) {
            int from = next;
            long bytes = 0;
            while (next < planned.size() && next - from < pieceEntries
                    && (next == from || bytes + planned.get(next).bytes() <= PIECE_BYTES)) {
                bytes += planned.get(next).bytes();
                next++;
            }
            // One range read per scope of the piece, all sent at once.
            Map<Scope, StreamId[]> ranges = new LinkedHashMap<>();
            Map<Scope, Integer> counts = new LinkedHashMap<>();
            for (Planned entry : planned.subList(from, next)) {
                ranges.computeIfAbsent(entry.scope(), scope -> new StreamId[] {entry.id(), entry.id()})[1] = entry.id();
                counts.merge(entry.scope(), 1, Integer::sum);
            }
            List<Scope> scopes = new ArrayList<>(ranges.keySet());
            List<CompletableFuture<List<Entry>>> reads = new ArrayList<>(scopes.size());
            for (Scope scope : scopes) {
                StreamId[] range = ranges.get(scope);
                reads.add(timeline.readRange(scope, range[0], range[1], counts.get(scope)));
            }
            List<LiveEvent> piece = new ArrayList<>(next - from);
            for (int s = 0; s < scopes.size(); s++) {
                for (Entry entry : await.apply(reads.get(s))) {
                    piece.add(LiveEvent.of(scopes.get(s), entry));
                }
            }
            piece.sort(Comparator.comparing(LiveEvent::id).thenComparing(LiveEvent::scope));
            return piece;
        }
    }

    /** One scope's entry ids, read newest first a page at a time. */
    private static final class Reader {
        private final Source source;
        private final int page;
        private final ArrayDeque<EntryRef> buffer = new ArrayDeque<>();
        private StreamId oldestTaken;
        private boolean exhausted;

        Reader(Source source, int page) {
            this.source = source;
            this.page = page;
        }

        void filled(List<EntryRef> refs) {
            buffer.addAll(refs);
            exhausted = refs.size() < page;
        }

        EntryRef head() {
            return buffer.peek();
        }
    }
}

package io.alimi.hub;

import io.alimi.event.Scope;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * What a resuming client missed: the newest {@code budget} entries after each scope's position, across all its
 * scopes together, read newest first and merged, so the work and memory of a resume are bounded by the budget
 * however many scopes the client follows and however long it was away. The budget is in entries and in bytes of
 * their envelopes (a few large events must not cost tens of megabytes per resume): the newest entry is taken
 * whatever its size, each older one only while the bytes taken stay within {@code maxBytes}. A scope with more entries than make the
 * cut is reported {@code behind}: the client gets its newest entries and a gap naming the older ones (still on
 * the timeline API).
 *
 * <p>Only scopes whose stream has something after the client's position are read at all (the caller knows from
 * each stream's bounds), each in pages sized so that all first pages together hold about twice the budget.
 */
final class Replay {

    /** A scope to read: entries after {@code after}. */
    record Source(Scope scope, StreamId after) {
    }

    /**
     * What was read of one scope.
     *
     * @param entries oldest first
     * @param through when entries after the position were left out (behind), the newest of them
     */
    record Result(Source source, List<Entry> entries, StreamId through) {
    }

    private Replay() {
    }

    /**
     * @param await waits for a Redis reply (the session's way, interruptible)
     * @return one result per source with entries or a gap, in no order
     */
    static List<Result> read(Timeline timeline, List<Source> sources, int budget, long maxBytes,
                             Function<CompletableFuture<List<Entry>>, List<Entry>> await) {
        if (sources.isEmpty()) {
            return List.of();
        }
        int page = Math.max(1, Math.min(budget + 1, 2 * budget / sources.size() + 1));
        List<Reader> readers = new ArrayList<>(sources.size());
        List<CompletableFuture<List<Entry>>> first = new ArrayList<>(sources.size());
        for (Source source : sources) {
            readers.add(new Reader(source, page));
            first.add(timeline.readNewest(source.scope(), source.after(), null, page));
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
        int taken = 0;
        long bytes = 0;
        while (taken < budget && !newest.isEmpty()) {
            int size = newest.peek().head().json().length;
            if (taken > 0 && bytes + size > maxBytes) {
                // Left in its buffer: its scope reports a gap through it, as when the entry budget runs out.
                break;
            }
            Reader reader = newest.poll();
            reader.taken.add(reader.buffer.poll());
            taken++;
            bytes += size;
            if (reader.buffer.isEmpty() && !reader.exhausted) {
                reader.filled(await.apply(timeline.readNewest(reader.source.scope(), reader.source.after(),
                        reader.oldestTaken(), page)));
            }
            if (!reader.buffer.isEmpty()) {
                newest.add(reader);
            }
        }
        List<Result> results = new ArrayList<>();
        for (Reader reader : readers) {
            // A reader is refilled as soon as it runs dry, so what it has not handed over is in its buffer.
            StreamId through = reader.buffer.isEmpty() ? null : reader.buffer.peek().id();
            if (!reader.taken.isEmpty() || through != null) {
                List<Entry> entries = new ArrayList<>(reader.taken);
                java.util.Collections.reverse(entries);
                results.add(new Result(reader.source, entries, through));
            }
        }
        return results;
    }

    /** One scope's entries, read newest first a page at a time. */
    private static final class Reader {
        private final Source source;
        private final int page;
        private final ArrayDeque<Entry> buffer = new ArrayDeque<>();
        private final List<Entry> taken = new ArrayList<>();
        private boolean exhausted;

        Reader(Source source, int page) {
            this.source = source;
            this.page = page;
        }

        void filled(List<Entry> entries) {
            buffer.addAll(entries);
            exhausted = entries.size() < page;
        }

        Entry head() {
            return buffer.peek();
        }

        StreamId oldestTaken() {
            return taken.get(taken.size() - 1).id();
        }
    }
}

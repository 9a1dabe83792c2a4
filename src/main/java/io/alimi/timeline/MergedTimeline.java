package io.alimi.timeline;

import io.alimi.event.Scope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * An admin's history across the scopes they follow, newest first, each event once: what the bell's timeline
 * shows.
 *
 * <p><b>Order and paging.</b> Entries are merged by {@link TimelinePosition} (entry id, then scope). A page ends at
 * a position and the next page starts strictly below it, so paging never shows an item twice nor skips one, even
 * while events keep arriving: they arrive above the first page.
 *
 * <p><b>Each event once.</b> An event sent to several scopes the admin follows has a copy in each. Exactly one copy
 * stands for it, chosen from the entry alone (its {@code to} field lists every target): the copy in the narrowest
 * followed target, admin before partner before mall before {@code all}, then by id. The choice does not depend on
 * which page is being read, so a copy skipped on one page is never shown on another. Narrowest first because a
 * personal stream is the slowest to be trimmed by retention: if the chosen copy has been trimmed while another
 * remains, the event is no longer shown.
 */
public final class MergedTimeline {

    /** Entries fetched per scope per round trip. */
    private static final int BATCH = 64;

    private final Timeline timeline;

    public MergedTimeline(Timeline timeline) {
        this.timeline = timeline;
    }

    /** An entry of the merged timeline. */
    public record Item(TimelinePosition position, Entry entry) {
    }

    /**
     * A page and where the next one starts, if there may be one.
     *
     * @param partial the page stopped at the bound on entries examined before it had {@code limit} items: there may
     *                be more below {@code next} (a filter that matches little)
     */
    public record Page(List<Item> items, Optional<TimelinePosition> next, boolean partial) {
    }

    /** Entries one page examines at most, whatever its filter: a type no entry has must not read every stream. */
    public static final int DEFAULT_MAX_EXAMINED = 2_000;

    /** The order in which a copy is chosen to stand for its event: narrowest scope first. */
    static final Comparator<Scope> NARROWEST_FIRST = Comparator
            .comparingInt((Scope scope) -> switch (scope.kind()) {
                case ADMIN -> 0;
                case PARTNER -> 1;
                case MALL -> 2;
                case ALL -> 3;
            })
            .thenComparing(Scope::id);

    /**
     * Up to {@code limit} items strictly below {@code before} (from the newest when empty) and strictly above
     * {@code after} (no lower bound when empty), newest first, keeping only those {@code include} accepts.
     *
     * @throws java.util.concurrent.CompletionException when the store cannot be reached
     */
    public Page page(Collection<Scope> followed, Optional<TimelinePosition> before, Optional<TimelinePosition> after,
                     int limit, Predicate<Entry> include) {
        return page(followed, before, after, limit, include, Integer.MAX_VALUE);
    }

    /**
     * As {@link #page(Collection, Optional, Optional, int, Predicate)}, examining at most {@code maxExamined}
     * entries: past that, the page ends {@link Page#partial partial} at the last entry examined.
     */
    public Page page(Collection<Scope> followed, Optional<TimelinePosition> before, Optional<TimelinePosition> after,
                     int limit, Predicate<Entry> include, int maxExamined) {
        Set<Scope> followedSet = new HashSet<>(followed);
        // All first fetches together hold about twice a page: an operator of 10,000 malls reads one entry of each
        // first, then more only from the scopes whose entries make the page.
        int first = Math.max(1, Math.min(BATCH, 2 * limit / Math.max(1, followedSet.size()) + 1));
        StreamId floor = after.map(position -> position.id().previous()).orElse(StreamId.ZERO);
        List<Cursor> cursors = new ArrayList<>();
        for (Scope scope : followedSet) {
            cursors.add(new Cursor(scope, before, floor));
        }
        // First round trip to every scope at once; later ones only to a scope whose buffer ran dry.
        CompletableFuture.allOf(cursors.stream().map(cursor -> cursor.fetch(first)).toArray(CompletableFuture[]::new)).join();
        PriorityQueue<Cursor> newest = new PriorityQueue<>(Comparator.comparing(Cursor::head).reversed());
        for (Cursor cursor : cursors) {
            if (!cursor.buffer.isEmpty()) {
                newest.add(cursor);
            }
        }
        List<Item> items = new ArrayList<>(Math.min(limit, 256));
        int examined = 0;
        TimelinePosition lastExamined = null;
        while (items.size() < limit) {
            Cursor cursor = newest.poll();
            if (cursor == null) {
                return new Page(items, Optional.empty(), false);
            }
            TimelinePosition position = cursor.head();
            if (after.isPresent() && position.compareTo(after.get()) <= 0) {
                return new Page(items, Optional.empty(), false);
            }
            if (examined == maxExamined) {
                // Everything above the last examined entry has been seen: the next page starts strictly below it.
                return new Page(items, Optional.of(lastExamined), true);
            }
            examined++;
            lastExamined = position;
            Entry entry = cursor.buffer.removeFirst();
            if (standsForItsEvent(entry, cursor.scope, followedSet) && include.test(entry)) {
                items.add(new Item(position, entry));
            }
            if (cursor.buffer.isEmpty() && !cursor.exhausted) {
                cursor.fetch(BATCH).join();
            }
            if (!cursor.buffer.isEmpty()) {
                newest.add(cursor);
            }
        }
        return new Page(items, Optional.of(items.get(items.size() - 1).position()), false);
    }

    /** Whether this copy of an event is the one shown for it (see the class comment). */
    static boolean standsForItsEvent(Entry entry, Scope scope, Set<Scope> followed) {
        Scope chosen = scope;
        for (String target : entry.targets().split(",")) {
            Scope other;
            try {
                other = Scope.parse(target.strip());
            } catch (IllegalArgumentException unreadable) {
                continue;
            }
            if (followed.contains(other) && NARROWEST_FIRST.compare(other, chosen) < 0) {
                chosen = other;
            }
        }
        return chosen.equals(scope);
    }

    /** One followed scope's entries below the page start (and above the floor), fetched a batch at a time. */
    private final class Cursor {
        final Scope scope;
        final StreamId floor;
        final ArrayDeque<Entry> buffer = new ArrayDeque<>();
        /** Exclusive upper bound of the next fetch; null: the newest. */
        StreamId upper;
        boolean exhausted;

        Cursor(Scope scope, Optional<TimelinePosition> before, StreamId floor) {
            this.scope = scope;
            this.floor = floor;
            if (before.isPresent()) {
                // Below (id, scope) in the merged order: ids below id, and id itself for scopes ordered before.
                boolean tieIncluded = scope.toString().compareTo(before.get().scope().toString()) < 0;
                this.upper = tieIncluded ? before.get().id().next() : before.get().id();
            }
        }

        TimelinePosition head() {
            return TimelinePosition.of(buffer.peekFirst(), scope);
        }

        CompletableFuture<Void> fetch(int count) {
            return timeline.readNewest(scope, floor, upper, count).thenAccept(entries -> {
                buffer.addAll(entries);
                if (entries.size() < count) {
                    exhausted = true;
                } else {
                    upper = entries.get(entries.size() - 1).id();
                }
            });
        }
    }
}

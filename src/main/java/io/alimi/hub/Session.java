package io.alimi.hub;

import io.alimi.event.Cursor;
import io.alimi.event.InvalidEventException;
import io.alimi.event.Scope;
import io.alimi.inbox.Preferences;
import io.alimi.timeline.StreamHead;
import io.alimi.timeline.StreamId;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;

/**
 * One client's live subscription to its scopes, whatever the transport.
 *
 * <p>The promise: an entry appended to a followed scope after the client's cursor is handed out exactly once, or
 * the client is told by a {@link Item.Gap} naming the scope that it cannot be. Replay, then live: {@link #join}
 * subscribes to the hub first (live events queue up from then on), then reads what each scope holds after the
 * client's cursor, hands that out, and from then on {@link #next} hands out the queued live events — skipping any
 * at or before what was already handed out. The bookkeeping (positions, the watermark, copies still to come) is
 * the {@link Ledger}'s; this class decides what goes in and when:
 * <ul>
 *   <li><b>Where each scope starts.</b> A scope the cursor marks resumes from its mark; any other followed scope
 *       (one the cursor's stream did not follow: a broader page, a newly granted mall) from the cursor's
 *       watermark, the time the cursor was made. A scope whose stream was created after that starts at its
 *       beginning (all of it is new); one recreated after its mark gets a {@code reset} gap. Scopes the cursor's
 *       stream followed that the admin has lost are dropped and named in a {@link Item.Revoked}.</li>
 *   <li><b>Each event once.</b> An event sent to several followed scopes is handed out on its first copy; the
 *       others only move their scope's position. On resume, a replayed copy of an event whose copy in a scope the
 *       cursor <em>vouches for</em> (one its stream followed) is at or before the cursor's position there was
 *       handed out then; it is found through that scope's dedup record. Scopes the cursor did not follow vouch for
 *       nothing.</li>
 *   <li><b>No silent hole.</b> Every entry names the one before it: an entry whose predecessor is after the
 *       scope's position and was never seen means retention removed what lies between, and a {@code trimmed} gap
 *       says so, on resume and live alike.</li>
 *   <li><b>Cursors stay small.</b> The watermark only rises to a point every followed stream is complete through:
 *       the tailer's {@link Tailer.Progress}, less {@code clock-skew}, and never past an entry not yet handed out.
 *       If one more mark would not fit in a cursor, the rest of the batch waits for the watermark to pass.</li>
 * </ul>
 * Threading: {@link #join}, {@link #next} and {@link #cursor} belong to the connection's writer thread;
 * {@link #offer} is called by the tailer; {@link #end} by anyone.
 */
public final class Session implements AutoCloseable {

    /** Why a session ends, as told to the client. */
    public enum End {
        /** The node is shutting down: reconnect, to another node. */
        DRAINING("draining"),
        /** The client did not keep up; it resumes from its cursor. */
        SLOW_CONSUMER("slow-consumer"),
        /** Streams are bounded in time so clients spread over nodes: reconnect at once. */
        LIFETIME("lifetime"),
        /** The credential expired: reconnect with a fresh one. */
        REAUTH("reauth"),
        /** The timeline store could not be read mid-replay: reconnect after a delay, from the cursor. */
        STORE_UNREACHABLE("store-unreachable");

        private final String reason;

        End(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    private static final Comparator<LiveEvent> BY_ID = Comparator.comparing(LiveEvent::id).thenComparing(LiveEvent::scope);
    private static final long NO_MORE = Long.MAX_VALUE;
    private static final int[] NO_OTHERS = new int[0];

    private final Relay relay;
    private final List<Scope> scopeList;
    private final Ledger ledger;
    private final Mailbox mailbox;
    private final long endsAtNanos;
    private final End endOfLife;
    private final long skewMillis;
    /** The tailer readers of this session's streams, and their version when it subscribed. */
    private Tailer.Progress[] lanes = new Tailer.Progress[0];
    private long[] laneVersions = new long[0];
    /** How far every followed stream is complete for this session: it has received everything up to here. */
    private long complete;
    /** Events received but not yet handed out, in order: they wait for the watermark (see {@link Ledger#fits}). */
    private final List<LiveEvent> held = new ArrayList<>();
    /** Those of {@link #held} that are copies of events the client already has (replayed, see {@link #passedCopies}). */
    private Set<LiveEvent> heldSkip = Set.of();
    /** The rest of the replay, while there is some: handed out before anything live (see {@link #next}). */
    private Replay.Pieces replaying;
    /** What the resumed cursor vouches for, for the replay's pieces. */
    private Optional<Vouched> replayVouched = Optional.empty();
    private volatile End signal;
    /** The admin whose preferences this session applies (see {@link Relay#followPreferences}). */
    volatile String preferencesOf;
    /** What that admin muted; null until known, or when they muted nothing. */
    private volatile Preferences preferences;
    /** The admin whose unread count this session follows, if it does (see {@link Relay#followUnread}). */
    volatile String unreadOf;
    /** An unread count to hand out with the next items: {count, capped ? 1 : 0}, or null. */
    private volatile int[] unread;
    private volatile long signalledAtNanos;
    /** When a writer waiting in {@link #next} wants to be woken at the latest (0: not waiting). */
    private volatile long wakeAtNanos;
    private volatile Thread writer;
    private volatile boolean closed;
    private boolean subscribed;

    Session(Relay relay, List<Scope> scopes, long endsAtNanos, End endOfLife) {
        this.relay = relay;
        this.scopeList = Cursor.sorted(scopes);
        this.ledger = new Ledger(scopeList);
        this.mailbox = new Mailbox(relay.settings().queueCapacity());
        this.endsAtNanos = endsAtNanos;
        this.endOfLife = endOfLife;
        this.skewMillis = relay.settings().clockSkew().toMillis();
    }

    public List<Scope> scopes() {
        return scopeList;
    }

    /** What a cursor says of the scopes its stream followed, as far as this node can tell. */
    private record Vouched(Set<Scope> followed, Map<Scope, StreamId> marks, long from) {

        /** The position the cursor vouches for in {@code scope}, or empty if its stream did not follow it. */
        Optional<StreamId> position(Scope scope) {
            StreamId mark = marks.get(scope);
            if (mark != null) {
                return Optional.of(mark);
            }
            return followed.contains(scope) ? Optional.of(new StreamId(from, Cursor.MAX_SEQUENCE)) : Optional.empty();
        }
    }

    /**
     * Subscribes and replays: returns a {@link Item.Ready}, then a {@link Item.Revoked} if the cursor names scopes
     * the admin lost, then any gaps, then what came after the cursor (all scopes merged in entry-id order). Call
     * once, from the writer thread.
     *
     * @param entitled every scope the admin may follow now (the followed ones are among them)
     */
    public List<Item> join(Optional<Cursor> resume, Set<Scope> entitled) {
        writer = Thread.currentThread();
        int n = ledger.size();
        CompletableFuture<List<StreamHead>> read = relay.timeline().heads(scopeList);
        CompletableFuture<Void> kept = ledger.storedSet()
                ? relay.timeline().keepScopeSet(new Cursor.Followed.Stored(Cursor.digest(scopeList)).hex(),
                        Cursor.encodeScopes(scopeList))
                : CompletableFuture.completedFuture(null);
        Optional<Vouched> vouched = resume.map(this::vouched);
        List<Item> items = new ArrayList<>();
        List<Item.Gap> gaps = new ArrayList<>();
        Map<Scope, StreamId> tailFrom = new HashMap<>();
        List<StreamHead> heads = await(read);
        long clock = NO_MORE;
        for (StreamHead head : heads) {
            clock = Math.min(clock, head.timeMillis());
        }
        complete = n == 0 ? 0 : clock - 1 - skewMillis;
        // The watermark first, so that placing each scope marks only those above it.
        ledger.watermark(resume.isEmpty() ? complete : startingWatermark(resume.get()));
        for (int i = 0; i < n; i++) {
            tailFrom.put(ledger.scope(i), heads.get(i).end());
            start(i, heads.get(i), resume, vouched, gaps);
        }
        await(kept);
        relay.hub().subscribe(this, tailFrom);
        subscribed = true;
        followProgress();
        items.add(new Item.Ready(scopeList, resume.isPresent(), ledger.cursor()));
        vouched.ifPresent(v -> revoked(v, entitled).ifPresent(items::add));
        for (Item.Gap gap : gaps) {
            items.add(new Item.Gap(gap.scope(), gap.reason(), gap.after(), gap.through(), ledger.cursor()));
        }
        resume.ifPresent(c -> {
            for (long hash : c.pending()) {
                ledger.adopt(hash);
            }
        });
        items.addAll(catchUp(heads, vouched));
        relay.countGaps(gaps.size());
        return items;
    }

    /** The cursor's watermark, as far as it holds for this session's scopes (version 1: its lowest position). */
    private long startingWatermark(Cursor cursor) {
        if (cursor.version() >= 2) {
            return cursor.watermark();
        }
        long lowest = cursor.watermark();
        for (Cursor.Mark mark : cursor.marks()) {
            lowest = Math.min(lowest, mark.millis() - 1);
        }
        return Math.max(0, lowest);
    }

    /** The followed set the cursor vouches for and its marks, resolved (a stored set read back if it differs). */
    private Vouched vouched(Cursor cursor) {
        List<Scope> set = switch (cursor.followed()) {
            case Cursor.Followed.Listed listed -> listed.scopes();
            case Cursor.Followed.Stored stored -> stored.digest() == Cursor.digest(scopeList)
                    ? scopeList : storedSet(stored).orElse(null);
        };
        if (set == null) {
            // The set is no longer kept (the cursor is older than the dedup window) and is not this one: its marks
            // cannot be placed. Resume everything from its watermark, taking it to vouch for what is followed now.
            return new Vouched(Set.copyOf(scopeList), Map.of(), cursor.watermark());
        }
        Map<Scope, StreamId> marks = new HashMap<>();
        for (Cursor.Mark mark : cursor.marks()) {
            if (mark.index() < set.size()) {
                marks.put(set.get(mark.index()), new StreamId(mark.millis(), mark.sequence()));
            }
        }
        return new Vouched(new java.util.HashSet<>(set), marks, cursor.watermark());
    }

    private Optional<List<Scope>> storedSet(Cursor.Followed.Stored stored) {
        Optional<byte[]> bytes = await(relay.timeline().scopeSet(stored.hex()));
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        try {
            List<Scope> set = Cursor.decodeScopes(bytes.get());
            return Cursor.digest(set) == stored.digest() ? Optional.of(set) : Optional.empty();
        } catch (InvalidEventException corrupt) {
            return Optional.empty();
        }
    }

    /** The scopes the cursor's stream followed that the admin is no longer entitled to. */
    private Optional<Item> revoked(Vouched vouched, Set<Scope> entitled) {
        Set<Scope> lost = new TreeSet<>();
        for (Scope scope : vouched.followed()) {
            if (!entitled.contains(scope)) {
                lost.add(scope);
            }
        }
        return lost.isEmpty() ? Optional.empty() : Optional.of(new Item.Revoked(List.copyOf(lost), ledger.cursor()));
    }

    /** Where scope {@code i} starts, from its stream's state and what the cursor says of it, if anything. */
    private void start(int i, StreamHead head, Optional<Cursor> resume, Optional<Vouched> vouched, List<Item.Gap> gaps) {
        Scope scope = ledger.scope(i);
        long epochNow = head.epochNumber();
        ledger.epoch(i, epochNow);
        if (resume.isEmpty()) {
            ledger.move(i, head.end());
            return;
        }
        Cursor cursor = resume.get();
        StreamId mark = vouched.get().marks().get(scope);
        StreamId at;
        if (mark != null) {
            at = mark;
            if (cursor.version() == 1) {
                long epochSeen = epochOf(cursor, scope);
                if (epochSeen != 0 && epochSeen != epochNow) {
                    gaps.add(new Item.Gap(scope, "reset", at, null, null));
                    at = StreamId.ZERO;
                } else if (epochSeen == 0 && epochNow != 0) {
                    // The stream was created after the client joined: all of it is new to the client.
                    at = StreamId.ZERO;
                }
            } else if (head.createdMillis() > at.millis()) {
                // The stream the client was positioned in is gone; the one there now is replayed from its start.
                gaps.add(new Item.Gap(scope, "reset", at, null, null));
                at = StreamId.ZERO;
            }
        } else {
            long from = cursor.watermark();
            at = new StreamId(from, Cursor.MAX_SEQUENCE);
            if (head.createdMillis() > from) {
                // Created after the cursor was made: everything in it is after the cursor.
                at = StreamId.ZERO;
            }
        }
        if (head.trimmed().isPresent() && at.compareTo(head.trimmed().get()) < 0) {
            gaps.add(new Item.Gap(scope, "trimmed", at, head.trimmed().get(), null));
            at = head.trimmed().get();
        }
        ledger.move(i, at);
    }

    /** A version 1 cursor's epoch for {@code scope}. */
    private static long epochOf(Cursor cursor, Scope scope) {
        List<Scope> set = ((Cursor.Followed.Listed) cursor.followed()).scopes();
        int index = set.indexOf(scope);
        for (Cursor.Mark mark : cursor.marks()) {
            if (mark.index() == index) {
                return mark.epoch();
            }
        }
        return 0;
    }

    /** Registers with the tailer readers of this session's streams, at their version now (after subscribing). */
    private void followProgress() {
        Map<Tailer.Progress, Long> distinct = new IdentityHashMap<>();
        for (Scope scope : scopeList) {
            Tailer.Progress progress = relay.hub().progressOf(scope);
            distinct.computeIfAbsent(progress, Tailer.Progress::version);
        }
        lanes = distinct.keySet().toArray(Tailer.Progress[]::new);
        laneVersions = new long[lanes.length];
        for (int l = 0; l < lanes.length; l++) {
            laneVersions[l] = distinct.get(lanes[l]);
        }
    }

    /**
     * What was appended after each scope's position, within the catch-up budget, handed out in entry-id order: the
     * gaps of scopes too far behind and the first piece now, the other pieces by {@link #next} before anything live.
     */
    private List<Item> catchUp(List<StreamHead> heads, Optional<Vouched> vouched) {
        // A scope has something to replay if its stream went past the position when its bounds were read, or the
        // tailer read past it before this session subscribed (what it reads later comes live).
        List<Replay.Source> sources = new ArrayList<>();
        for (int i = 0; i < ledger.size(); i++) {
            StreamId known = heads.get(i).end();
            StreamId tailed = relay.hub().readThrough(ledger.scope(i));
            if (tailed != null && tailed.compareTo(known) > 0) {
                known = tailed;
            }
            if (known.compareTo(ledger.position(i)) > 0) {
                sources.add(new Replay.Source(ledger.scope(i), ledger.position(i)));
            }
        }
        Replay.Plan plan = Replay.plan(relay.timeline(), sources, relay.settings().maxCatchUp(),
                relay.settings().maxCatchUpBytes(), Session::await);
        List<Item> items = new ArrayList<>();
        for (Replay.Behind behind : plan.behind()) {
            int i = ledger.index(behind.source().scope());
            items.add(new Item.Gap(ledger.scope(i), "behind", ledger.position(i), behind.through(), null));
            ledger.move(i, behind.through());
            relay.countGaps(1);
        }
        // Gaps carry the cursor after them: written once the positions they move are set.
        String afterGaps = ledger.cursor();
        items.replaceAll(item -> item instanceof Item.Gap gap
                ? new Item.Gap(gap.scope(), gap.reason(), gap.after(), gap.through(), afterGaps) : item);
        if (!plan.entries().isEmpty()) {
            replaying = new Replay.Pieces(relay.timeline(), plan.entries(), relay.settings().replayPiece());
            replayVouched = vouched;
            items.addAll(replayPiece());
        }
        return items;
    }

    /**
     * Reads and hands out the next piece of the replay. The watermark stays below the first entry of the pieces to
     * come. Should the cursor be unable to take one more mark until the watermark rises, the rest of the replay is
     * read at once and held with it (bounded by the catch-up budget), since live events may not pass it.
     */
    private List<Item> replayPiece() {
        java.util.concurrent.Semaphore turns = relay.replays();
        try {
            turns.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.UncheckedIOException(new java.io.InterruptedIOException("interrupted while waiting to replay"));
        }
        try {
            return replayPieceInTurn();
        } finally {
            turns.release();
        }
    }

    private List<Item> replayPieceInTurn() {
        List<LiveEvent> piece;
        try {
            piece = replaying.next(Session::await);
        } catch (java.util.concurrent.CompletionException | java.io.UncheckedIOException unreachable) {
            // What was handed out stands; the client resumes from its cursor once Redis answers again.
            replaying = null;
            end(End.STORE_UNREACHABLE);
            return new ArrayList<>();
        }
        long ceiling = NO_MORE;
        if (replaying.hasNext()) {
            ceiling = replaying.nextMillis();
        } else {
            replaying = null;
        }
        Set<LiveEvent> skip = replayVouched.map(v -> passedCopies(piece, v)).orElse(Set.of());
        List<Item> items = new ArrayList<>();
        handOut(piece, items, skip, ceiling);
        if (!held.isEmpty() && replaying != null) {
            while (replaying.hasNext()) {
                List<LiveEvent> rest;
                try {
                    rest = replaying.next(Session::await);
                } catch (java.util.concurrent.CompletionException | java.io.UncheckedIOException unreachable) {
                    // Held entries are handed out no further than they were read; the client resumes past them.
                    end(End.STORE_UNREACHABLE);
                    break;
                }
                skipWhenHeld(replayVouched.map(v -> passedCopies(rest, v)).orElse(Set.of()));
                held.addAll(rest);
            }
            replaying = null;
        }
        return items;
    }

    /** Marks held events as copies the client already has (a set made only when some are: most sessions never). */
    private void skipWhenHeld(Set<LiveEvent> copies) {
        if (copies.isEmpty()) {
            return;
        }
        if (heldSkip.isEmpty()) {
            heldSkip = Collections.newSetFromMap(new IdentityHashMap<>());
        }
        heldSkip.addAll(copies);
    }

    /** Whether part of the replay is still to be handed out (by {@link #next}, which returns it at once). */
    public boolean replaying() {
        return replaying != null;
    }

    /**
     * The replayed copies of events the client already has: an event one of whose copies is at or before the
     * position the cursor vouches for in that copy's scope was handed out then (its first copy was), so its
     * replayed copies only move the cursor, and so will its copies still to come live. Found through the dedup
     * record of each vouched scope that has no copy in the replay (while it lasts: {@code dedup-ttl}).
     */
    private Set<LiveEvent> passedCopies(List<LiveEvent> replay, Vouched vouched) {
        Map<Long, List<LiveEvent>> byEvent = new HashMap<>();
        for (LiveEvent event : replay) {
            if (event.targets().size() > 1 && !ledger.isPending(event.eventHash())) {
                byEvent.computeIfAbsent(event.eventHash(), hash -> new ArrayList<>(2)).add(event);
            }
        }
        if (byEvent.isEmpty()) {
            return Set.of();
        }
        record Lookup(List<LiveEvent> copies, StreamId vouchedAt, CompletableFuture<Optional<StreamId>> entry) {
        }
        List<Lookup> lookups = new ArrayList<>();
        for (List<LiveEvent> copies : byEvent.values()) {
            Set<Scope> replayed = new java.util.HashSet<>();
            copies.forEach(copy -> replayed.add(copy.scope()));
            for (Scope target : copies.get(0).targets()) {
                Optional<StreamId> at = vouched.position(target);
                if (!replayed.contains(target) && at.isPresent() && at.get().compareTo(StreamId.ZERO) > 0) {
                    lookups.add(new Lookup(copies, at.get(), relay.timeline().entryOf(target, copies.get(0).event())));
                }
            }
        }
        Set<List<LiveEvent>> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Lookup lookup : lookups) {
            Optional<StreamId> entry = await(lookup.entry());
            if (entry.isPresent() && entry.get().compareTo(lookup.vouchedAt()) <= 0) {
                handedOut.add(lookup.copies());
            }
        }
        Set<LiveEvent> skip = Collections.newSetFromMap(new IdentityHashMap<>());
        for (List<LiveEvent> copies : handedOut) {
            skip.addAll(copies);
            // Followed copies neither replayed nor passed are still to come live: they must only move the cursor too.
            int[] toCome = others(copies.get(0), copies);
            if (toCome.length > 0 && !ledger.expect(copies.get(0).eventHash(), toCome)) {
                end(End.SLOW_CONSUMER);
            }
        }
        return skip;
    }

    /**
     * Indexes of the followed targets of {@code event} other than its own scope and the scopes of {@code except}'s
     * copies (none if null).
     */
    private int[] others(LiveEvent event, List<LiveEvent> except) {
        if (event.targets().size() == 1) {
            return NO_OTHERS;
        }
        int[] found = new int[event.targets().size()];
        int n = 0;
        for (Scope target : event.targets()) {
            int j = ledger.index(target);
            if (j < 0 || target.equals(event.scope())) {
                continue;
            }
            boolean excluded = false;
            for (LiveEvent copy : except == null ? List.<LiveEvent>of() : except) {
                if (copy.scope().equals(target)) {
                    excluded = true;
                    break;
                }
            }
            if (!excluded) {
                found[n++] = j;
            }
        }
        return java.util.Arrays.copyOf(found, n);
    }

    /**
     * Waits for a Redis reply parked right here rather than deep inside {@link CompletableFuture#join()}: a
     * virtual thread's saved stack never shrinks, so the deepest park of a connection's life sets what its idle
     * stack costs for the next half hour.
     */
    private static <T> T await(CompletableFuture<T> future) {
        if (!future.isDone()) {
            Thread waiter = Thread.currentThread();
            future.whenComplete((result, failure) -> LockSupport.unpark(waiter));
            while (!future.isDone()) {
                LockSupport.park(future);
                if (Thread.currentThread().isInterrupted()) {
                    // Cut off (its socket is closed): stop waiting.
                    throw new java.io.UncheckedIOException(new java.io.InterruptedIOException("interrupted while joining"));
                }
            }
        }
        return future.join();
    }

    /**
     * The next live items: waits up to {@code maxWaitNanos} for some, returns none on timeout or when the session
     * has been told to end (see {@link #ending()}). While a replay is still being read, its next piece instead, at
     * once. Everything waiting is handed out together (one write, one
     * flush).
     */
    public List<Item> next(long maxWaitNanos) {
        if (replaying != null) {
            // The replay first, a piece per call: nothing live may pass it.
            List<Item> items = replayPiece();
            withUnread(items);
            return items;
        }
        long through = progress();
        List<LiveEvent> batch = new ArrayList<>(held);
        held.clear();
        // Everything queued, not a part: the queue holds what the tailer read in its order, stream by stream, and
        // the watermark may only rise past entries once all of them are here.
        int drained = mailbox.drainTo(batch, Integer.MAX_VALUE);
        boolean heldMayGo = !batch.isEmpty() && through > complete;
        if (drained == 0 && unread == null && !heldMayGo) {
            if (signal != null || maxWaitNanos <= 0) {
                held.addAll(batch);
                return List.of();
            }
            long wakeAt = System.nanoTime() + maxWaitNanos;
            wakeAtNanos = wakeAt == 0 ? 1 : wakeAt;
            boolean holding = !batch.isEmpty();
            long waitedAt = through;
            try {
                mailbox.await(() -> signal != null || unread != null || System.nanoTime() - wakeAt >= 0
                        || (holding && progress() > waitedAt));
            } finally {
                wakeAtNanos = 0;
            }
            through = progress();
            mailbox.drainTo(batch, Integer.MAX_VALUE);
        }
        if (batch.size() > 1) {
            // One XREAD answers stream by stream: across scopes, hand out in entry id order, as the events came.
            batch.sort(BY_ID);
        }
        List<Item> items = new ArrayList<>(batch.size() + 1);
        complete = Math.max(complete, through);
        Set<LiveEvent> skip = Set.of();
        if (!heldSkip.isEmpty()) {
            skip = heldSkip;
            heldSkip = Set.of();
        }
        handOut(batch, items, skip, NO_MORE);
        if (!items.isEmpty()) {
            relay.countLiveWrite();
        }
        long now = System.currentTimeMillis();
        for (Item item : items) {
            if (item instanceof Item.Event live) {
                relay.recordDelivery(live.event().id().millis(), now);
            }
        }
        withUnread(items);
        return items;
    }

    /** Adds the admin's new unread count, if one is waiting. */
    private void withUnread(List<Item> items) {
        int[] count = unread;
        if (count != null) {
            unread = null;
            items.add(new Item.Unread(count[0], count[1] == 1, ledger.cursor()));
        }
    }

    /**
     * How far every followed stream is complete for this session now, from the tailer readers (each counted only
     * once an XREAD covering this session's streams has been answered), less the clock skew allowed.
     */
    private long progress() {
        long through = NO_MORE;
        for (int l = 0; l < lanes.length; l++) {
            long lane = lanes[l].completeThrough(laneVersions[l]);
            if (lane < 0) {
                return complete;
            }
            through = Math.min(through, lane);
        }
        return through == NO_MORE ? complete : Math.max(complete, through - skewMillis);
    }

    /** Hands out the admin's new unread count with the next items (a newer count replaces one not yet sent). */
    public void unread(int count, boolean capped) {
        unread = new int[] {count, capped ? 1 : 0};
        mailbox.wake();
    }

    /**
     * Turns entries, sorted by id, into items: each new event once (on its first copy), gaps where a stream was
     * reset or trimmed past the client. Entries in {@code skip} are copies of events the client already has. The
     * watermark rises as far as {@link #complete} and the next entry not handed out allow, and stays below
     * {@code ceiling} (the first entry of replay pieces still to come; {@link #NO_MORE} when none). Stops early when a
     * cursor would outgrow its marks (the rest is held until the watermark rises) or when one more copy to come
     * would be more than the ledger remembers (the session ends; the client resumes from its cursor).
     */
    private void handOut(List<LiveEvent> events, List<Item> items, Set<LiveEvent> skip, long ceiling) {
        Preferences muting = preferences;
        boolean advanced = false;
        boolean stopped = false;
        int delivered = 0;
        long floor = ledger.watermark();
        for (int k = 0; k < events.size(); k++) {
            LiveEvent event = events.get(k);
            int i = ledger.index(event.scope());
            if (i < 0) {
                continue;
            }
            if (event.epoch() != ledger.epoch(i) && event.epoch() != 0) {
                boolean reset = ledger.epoch(i) != 0;
                StreamId before = ledger.position(i);
                ledger.epoch(i, event.epoch());
                if (reset) {
                    // The stream was lost and started again while we were following it.
                    ledger.move(i, StreamId.ZERO);
                    items.add(new Item.Gap(event.scope(), "reset", before, null, ledger.cursor()));
                    relay.countGaps(1);
                }
            }
            if (ledger.passed(i, event.id())) {
                continue;
            }
            if (event.id().millis() <= floor) {
                // Nothing at or below the watermark can still arrive, unless a Redis clock stepped back: then the
                // watermark steps back with it.
                floor = event.id().millis() - 1;
            }
            // Everything up to the next entry not handed out yet (within what is complete) is handed out after this.
            long nextMillis = k + 1 < events.size() ? events.get(k + 1).id().millis() : ceiling;
            ledger.watermark(Math.max(floor, Math.min(complete, nextMillis - 1)));
            if (!ledger.fits(i, event.id())) {
                // One more mark would not fit in a cursor: the rest waits until the watermark passes the marks.
                ledger.watermark(Math.max(floor, Math.min(complete, event.id().millis() - 1)));
                List<LiveEvent> rest = events.subList(k, events.size());
                for (LiveEvent waiting : rest) {
                    if (skip.contains(waiting)) {
                        skipWhenHeld(Set.of(waiting));
                    }
                }
                hold(rest);
                stopped = true;
                break;
            }
            if (event.previous() != null && !ledger.passed(i, event.previous())) {
                // The entry before this one was never seen here: retention removed it (and any before it).
                StreamId after = ledger.position(i);
                ledger.move(i, event.previous());
                items.add(new Item.Gap(event.scope(), "trimmed", after, event.previous(), ledger.cursor()));
                relay.countGaps(1);
            }
            if (skip.contains(event) || ledger.passCopy(event.eventHash(), i)) {
                // A copy of an event already handed out through another scope.
                ledger.move(i, event.id());
                advanced = true;
                continue;
            }
            int[] others = others(event, null);
            if (others.length > 0 && !ledger.expect(event.eventHash(), others)) {
                end(End.SLOW_CONSUMER);
                ledger.watermark(Math.max(floor, Math.min(complete, event.id().millis() - 1)));
                stopped = true;
                break;
            }
            ledger.move(i, event.id());
            Preferences.Delivery delivery = muting == null ? Preferences.Delivery.SHOWN : muting.live(event.type(), through(event));
            if (delivery == Preferences.Delivery.HIDDEN) {
                // Muted in the admin's inbox: handed out as a moved cursor, like a copy. Its other copies still
                // pass (expected above), and get the same verdict.
                advanced = true;
                continue;
            }
            items.add(new Item.Event(event, ledger.cursor(), delivery == Preferences.Delivery.QUIET));
            delivered++;
            advanced = false;
        }
        if (!stopped) {
            ledger.watermark(Math.max(floor, Math.min(complete, ceiling - 1)));
        }
        if (advanced) {
            items.add(new Item.Advance(ledger.cursor()));
        }
        relay.countDeliveries(delivered);
    }

    /** The followed scopes {@code event} reaches this session by. */
    private List<Scope> through(LiveEvent event) {
        List<Scope> through = new ArrayList<>(event.targets().size());
        for (Scope target : event.targets()) {
            if (ledger.index(target) >= 0) {
                through.add(target);
            }
        }
        return through;
    }

    /**
     * The admin's preferences, from now on: what they muted is judged as it is handed out (replay and live alike).
     * Called by the relay when the session opens and whenever the admin changes them, on any node.
     */
    public void preferences(Preferences preferences) {
        this.preferences = preferences.mutesNothing() ? null : preferences;
    }

    /** Keeps events for later, when the watermark has risen; a session holding more than its queue is too slow. */
    private void hold(List<LiveEvent> rest) {
        held.addAll(rest);
        if (held.size() > relay.settings().queueCapacity()) {
            held.clear();
            end(End.SLOW_CONSUMER);
            return;
        }
        for (Tailer.Progress lane : lanes) {
            lane.wakeOnProgress(this);
        }
    }

    /** The cursor as it stands. */
    public String cursor() {
        return ledger.cursor();
    }

    /** Why this session must end now, if it must: a signal, or the end of its lifetime. */
    public Optional<End> ending() {
        End now = signal;
        if (now != null) {
            return Optional.of(now);
        }
        return System.nanoTime() - endsAtNanos >= 0 ? Optional.of(endOfLife) : Optional.empty();
    }

    /** Nanoseconds until the lifetime (or credential) ends. */
    public long nanosLeft() {
        return endsAtNanos - System.nanoTime();
    }

    /** Called by the tailer: queues a live event, or ends the session if its queue is full. */
    void offer(LiveEvent event) {
        if (closed) {
            return;
        }
        if (!mailbox.offer(event)) {
            end(End.SLOW_CONSUMER);
        }
    }

    /** Asks the session to end; its writer notices at once (or is interrupted later if stuck in a write). */
    public synchronized void end(End reason) {
        if (signal == null) {
            signalledAtNanos = System.nanoTime();
            signal = reason;
            if (reason == End.SLOW_CONSUMER) {
                relay.countSlowConsumer();
            }
            mailbox.wake();
        }
    }

    /** Returns a writer waiting in {@link #next} at once (with whatever is there), e.g. to act on a client message. */
    public void wake() {
        mailbox.wake();
    }

    /** Called by the relay's ticker: wakes a writer whose wait has run out. */
    void tick(long now) {
        long wakeAt = wakeAtNanos;
        if (wakeAt != 0 && now - wakeAt >= 0) {
            mailbox.wake();
        }
    }

    /** Since when the session has been told to end, or 0. */
    long signalledAtNanos() {
        return signal == null ? 0 : signalledAtNanos;
    }

    /**
     * Unblocks a writer stuck writing to a client that stopped reading: interrupting a virtual thread blocked on a
     * socket closes the socket. Synchronized with {@link #close()} so a thread that has moved on is never hit.
     */
    synchronized void interruptWriter() {
        Thread thread = writer;
        if (thread != null && !closed) {
            thread.interrupt();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            writer = null;
        }
        if (subscribed) {
            relay.hub().unsubscribe(this);
        }
        relay.forget(this);
    }

    @Override
    public String toString() {
        return "session" + (scopeList.size() <= 8 ? scopeList : scopeList.size() + " scopes");
    }
}

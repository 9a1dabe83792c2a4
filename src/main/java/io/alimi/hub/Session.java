package io.alimi.hub;

import io.alimi.event.Cursor;
import io.alimi.event.Scope;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamBounds;
import io.alimi.timeline.StreamId;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One client's live subscription to its scopes, whatever the transport.
 *
 * <p>Replay, then live: {@link #join} subscribes to the hub first (live events queue up from then on), then reads
 * what each scope holds after the client's cursor, hands that out, and from then on {@link #next} hands out the
 * queued live events — skipping any at or before what was already handed out. No gap, no duplicate:
 * <ul>
 *   <li>positions only move forward, per scope;</li>
 *   <li>an event sent to several followed scopes is handed out once, on its first copy; its other copies only move
 *       their scope's position. The session remembers which copies are still to come ({@value #MAX_PENDING_HELD}
 *       at most; past that it is ended like a slow consumer, and the client resumes). The newest of them travel in
 *       the cursor; on resume, a replayed copy of an event whose copy in another followed scope is at or before
 *       the cursor's position there is recognised through that scope's dedup record, so this holds across
 *       reconnects too, however many copies the cursor could not name;</li>
 *   <li>a cursor behind retention or from an older epoch of a stream yields an explicit {@link Item.Gap}.</li>
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
        REAUTH("reauth");

        private final String reason;

        End(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    private static final int MAX_BATCH = 256;
    private static final Comparator<LiveEvent> BY_ID = Comparator.comparing(LiveEvent::id).thenComparing(LiveEvent::scope);
    /**
     * Copies still to come a session remembers. They pile up when one followed scope is read ahead of another: the
     * tailer reads each stream in blocks, so after a backlog (a Redis outage, a lagging bridge, a burst to a mall
     * and a partner) every first copy in one scope arrives before any second copy in the other. The cursor names
     * only {@link Cursor#MAX_PENDING} of them; resuming finds the others through the dedup records.
     */
    static final int MAX_PENDING_HELD = 1_024;

    private final Relay relay;
    private final Scope[] scopes;
    private final List<Scope> scopeList;
    private final long[] epochs;
    private final long[] millis;
    private final long[] sequences;
    /** Allocated on first use: most sessions never see an event sent to two of their scopes. */
    private long[] pendingHashes = NONE;
    private long[] pendingMasks = NONE;
    private int pendingCount;
    private static final long[] NONE = new long[0];
    private final Cursor.Encoder encoder;
    private final Mailbox mailbox;
    private final long endsAtNanos;
    private final End endOfLife;
    private volatile End signal;
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
        List<Scope> sorted = new ArrayList<>(scopes);
        Collections.sort(sorted);
        this.scopeList = List.copyOf(sorted);
        this.scopes = scopeList.toArray(Scope[]::new);
        this.epochs = new long[this.scopes.length];
        this.millis = new long[this.scopes.length];
        this.sequences = new long[this.scopes.length];
        this.encoder = new Cursor.Encoder(scopeList);
        this.mailbox = new Mailbox(relay.settings().queueCapacity());
        this.endsAtNanos = endsAtNanos;
        this.endOfLife = endOfLife;
    }

    public List<Scope> scopes() {
        return scopeList;
    }

    /** The index of {@code scope} among this session's scopes, or -1; a scan: sessions follow a handful. */
    private int index(Scope scope) {
        for (int i = 0; i < scopes.length; i++) {
            if (scopes[i].equals(scope)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Subscribes and replays: returns a {@link Item.Ready}, then any gaps, then every entry after the cursor (all
     * scopes merged in entry-id order). Call once, from the writer thread.
     */
    public List<Item> join(Optional<Cursor> resume) {
        writer = Thread.currentThread();
        List<CompletableFuture<StreamBounds>> reads = new ArrayList<>(scopes.length);
        for (Scope scope : scopes) {
            reads.add(relay.timeline().bounds(scope));
        }
        List<Item> items = new ArrayList<>();
        List<Item.Gap> gaps = new ArrayList<>();
        Map<Scope, StreamId> tailFrom = new HashMap<>();
        for (int i = 0; i < scopes.length; i++) {
            Scope scope = scopes[i];
            StreamBounds bounds = await(reads.get(i));
            tailFrom.put(scope, bounds.end());
            start(i, bounds, resume.flatMap(c -> c.position(scope)), gaps);
        }
        resume.ifPresent(this::adoptPending);
        relay.hub().subscribe(this, tailFrom);
        subscribed = true;
        items.add(new Item.Ready(scopeList, resume.isPresent(), cursor()));
        for (Item.Gap gap : gaps) {
            items.add(new Item.Gap(gap.scope(), gap.reason(), gap.after(), gap.through(), cursor()));
        }
        items.addAll(catchUp(resume.isPresent()));
        relay.countGaps(gaps.size());
        return items;
    }

    /** Where scope {@code i} starts, from its stream's state and the client's position in it, if any. */
    private void start(int i, StreamBounds bounds, Optional<Cursor.Position> position, List<Item.Gap> gaps) {
        Scope scope = scopes[i];
        long epochNow = bounds.epoch().map(Long::parseLong).orElse(0L);
        epochs[i] = epochNow;
        if (position.isEmpty()) {
            set(i, bounds.end());
            return;
        }
        Cursor.Position p = position.get();
        StreamId at = new StreamId(p.millis(), p.sequence());
        if (p.epoch() != 0 && p.epoch() != epochNow) {
            // The stream the client knew is gone; the one there now (if any) is replayed from its start.
            gaps.add(new Item.Gap(scope, "reset", at, null, null));
            at = StreamId.ZERO;
        } else if (p.epoch() == 0 && epochNow != 0) {
            // The stream was created after the client joined: all of it is new to the client.
            at = StreamId.ZERO;
        }
        set(i, at);
        if (bounds.trimmed().isPresent() && at.compareTo(bounds.trimmed().get()) < 0) {
            gaps.add(new Item.Gap(scope, "trimmed", at, bounds.trimmed().get(), null));
        }
    }

    private void adoptPending(Cursor cursor) {
        for (Cursor.Pending p : cursor.pending()) {
            long mask = 0;
            for (Scope scope : p.scopes()) {
                int i = index(scope);
                if (i >= 0) {
                    mask |= 1L << i;
                }
            }
            if (mask != 0) {
                addPending(p.eventHash(), mask);
            }
        }
    }

    /** Reads every scope after its position (bounded per scope) and hands the entries out in id order. */
    private List<Item> catchUp(boolean resumed) {
        int limit = relay.settings().maxCatchUp();
        StreamId[] passed = new StreamId[scopes.length];
        List<CompletableFuture<List<Entry>>> reads = new ArrayList<>(scopes.length);
        for (int i = 0; i < scopes.length; i++) {
            passed[i] = position(i);
            reads.add(relay.timeline().readAfter(scopes[i], position(i), limit + 1));
        }
        List<Item> items = new ArrayList<>();
        List<LiveEvent> all = new ArrayList<>();
        for (int i = 0; i < scopes.length; i++) {
            Scope scope = scopes[i];
            List<Entry> entries = await(reads.get(i));
            if (entries.size() > limit) {
                entries = behind(i, items);
            }
            for (Entry entry : entries) {
                all.add(LiveEvent.of(scope, entry));
            }
        }
        Set<LiveEvent> skip = resumed ? passedCopies(all, passed) : Set.of();
        all.sort(BY_ID);
        handOut(all, items, skip);
        return items;
    }

    /**
     * The replayed copies of events the client already has. Only a first copy is handed out, so an event whose
     * copy in another followed scope is at or before the client's position there was handed out when that copy
     * was passed: its replayed copies only move the cursor, and so will its copies still to come live. The cursor
     * names the newest such events itself (adopted as pending); the others are found here, through the dedup
     * record of each followed scope that has no copy in the replay (while it lasts: {@code dedup-ttl}).
     */
    private Set<LiveEvent> passedCopies(List<LiveEvent> replay, StreamId[] passed) {
        Map<Long, List<LiveEvent>> byEvent = new HashMap<>();
        for (LiveEvent event : replay) {
            if (followedMask(event) != (1L << index(event.scope())) && findPending(event.eventHash()) < 0) {
                byEvent.computeIfAbsent(event.eventHash(), hash -> new ArrayList<>(2)).add(event);
            }
        }
        if (byEvent.isEmpty()) {
            return Set.of();
        }
        record Lookup(List<LiveEvent> copies, int scope, CompletableFuture<Optional<StreamId>> entry) {
        }
        List<Lookup> lookups = new ArrayList<>();
        for (List<LiveEvent> copies : byEvent.values()) {
            long elsewhere = followedMask(copies.get(0)) & ~replayedMask(copies);
            for (int j = 0; j < scopes.length; j++) {
                if ((elsewhere & (1L << j)) != 0 && passed[j].compareTo(StreamId.ZERO) > 0) {
                    lookups.add(new Lookup(copies, j, relay.timeline().entryOf(scopes[j], copies.get(0).eventId())));
                }
            }
        }
        // Per event: the followed scopes (without a replayed copy) whose copy the client has passed.
        Map<List<LiveEvent>, Long> passedElsewhere = new IdentityHashMap<>();
        for (Lookup lookup : lookups) {
            Optional<StreamId> entry = await(lookup.entry());
            if (entry.isPresent() && entry.get().compareTo(passed[lookup.scope()]) <= 0) {
                passedElsewhere.merge(lookup.copies(), 1L << lookup.scope(), (a, b) -> a | b);
            }
        }
        Set<LiveEvent> skip = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<List<LiveEvent>, Long> event : passedElsewhere.entrySet()) {
            List<LiveEvent> copies = event.getKey();
            skip.addAll(copies);
            // Copies neither replayed nor passed are still to come live: they must only move the cursor too.
            long toCome = followedMask(copies.get(0)) & ~replayedMask(copies) & ~event.getValue();
            if (toCome != 0 && !addPending(copies.get(0).eventHash(), toCome)) {
                end(End.SLOW_CONSUMER);
            }
        }
        return skip;
    }

    private long replayedMask(List<LiveEvent> copies) {
        long mask = 0;
        for (LiveEvent copy : copies) {
            mask |= 1L << index(copy.scope());
        }
        return mask;
    }

    /** The followed scopes among an event's targets, as a bit mask of scope indexes. */
    private long followedMask(LiveEvent event) {
        long mask = 0;
        for (Scope target : event.targets()) {
            int j = index(target);
            if (j >= 0) {
                mask |= 1L << j;
            }
        }
        return mask;
    }

    /**
     * Waits for a Redis reply parked right here rather than deep inside {@link CompletableFuture#join()}: a
     * virtual thread's saved stack never shrinks, so the deepest park of a connection's life sets what its idle
     * stack costs for the next half hour.
     */
    private static <T> T await(CompletableFuture<T> future) {
        if (!future.isDone()) {
            Thread waiter = Thread.currentThread();
            future.whenComplete((result, failure) -> java.util.concurrent.locks.LockSupport.unpark(waiter));
            while (!future.isDone()) {
                java.util.concurrent.locks.LockSupport.park(future);
                if (Thread.currentThread().isInterrupted()) {
                    // Cut off (its socket is closed): stop waiting.
                    throw new java.io.UncheckedIOException(new java.io.InterruptedIOException("interrupted while joining"));
                }
            }
        }
        return future.join();
    }

    /** Too far behind: reports the oldest entries as a gap and replays only the newest {@code maxCatchUp}. */
    private List<Entry> behind(int i, List<Item> items) {
        Scope scope = scopes[i];
        int limit = relay.settings().maxCatchUp();
        List<Entry> newest = new ArrayList<>(await(relay.timeline().readBefore(scope, null, limit)));
        Collections.reverse(newest);
        StreamId firstKept = newest.get(0).id();
        List<Entry> previous = await(relay.timeline().readBefore(scope, firstKept, 1));
        StreamId through = previous.isEmpty() ? firstKept.previous() : previous.get(0).id();
        StreamId after = position(i);
        set(i, through);
        items.add(new Item.Gap(scope, "behind", after, through, cursor()));
        relay.countGaps(1);
        return newest;
    }

    /**
     * The next live items: waits up to {@code maxWaitNanos} for some, returns none on timeout or when the session
     * has been told to end (see {@link #ending()}). Items waiting are handed out together (one write, one flush).
     */
    public List<Item> next(long maxWaitNanos) {
        List<LiveEvent> batch = new ArrayList<>();
        if (mailbox.drainTo(batch, MAX_BATCH) == 0 && unread == null) {
            if (signal != null || maxWaitNanos <= 0) {
                return List.of();
            }
            long wakeAt = System.nanoTime() + maxWaitNanos;
            wakeAtNanos = wakeAt == 0 ? 1 : wakeAt;
            try {
                mailbox.await(() -> signal != null || unread != null || System.nanoTime() - wakeAt >= 0);
            } finally {
                wakeAtNanos = 0;
            }
            mailbox.drainTo(batch, MAX_BATCH);
        }
        if (batch.size() > 1) {
            // One XREAD answers stream by stream: across scopes, hand out in entry id order, as the events came.
            batch.sort(BY_ID);
        }
        List<Item> items = new ArrayList<>(batch.size() + 1);
        handOut(batch, items, Set.of());
        long now = System.currentTimeMillis();
        for (Item item : items) {
            if (item instanceof Item.Event live) {
                relay.recordDelivery(live.event().id().millis(), now);
            }
        }
        int[] count = unread;
        if (count != null) {
            unread = null;
            items.add(new Item.Unread(count[0], count[1] == 1, cursor()));
        }
        return items;
    }

    /** Hands out the admin's new unread count with the next items (a newer count replaces one not yet sent). */
    public void unread(int count, boolean capped) {
        unread = new int[] {count, capped ? 1 : 0};
        mailbox.wake();
    }

    /**
     * Turns entries into items: each new event once (on its first copy), gaps where a stream was reset. Entries in
     * {@code skip} are copies of events the client already has. Stops early, ending the session, when one more copy
     * to come would be more than it remembers: the client resumes from the cursor of what it was handed.
     */
    private void handOut(List<LiveEvent> events, List<Item> items, Set<LiveEvent> skip) {
        boolean advanced = false;
        int delivered = 0;
        for (LiveEvent event : events) {
            int i = index(event.scope());
            if (i < 0) {
                continue;
            }
            if (event.epoch() != epochs[i] && event.epoch() != 0) {
                boolean reset = epochs[i] != 0;
                StreamId before = position(i);
                epochs[i] = event.epoch();
                if (reset) {
                    // The stream was lost and started again while we were following it.
                    set(i, StreamId.ZERO);
                    items.add(new Item.Gap(event.scope(), "reset", before, null, cursor()));
                    relay.countGaps(1);
                }
            }
            if (event.id().compareTo(position(i)) <= 0) {
                continue;
            }
            long bit = 1L << i;
            if (skip.contains(event)) {
                set(i, event.id());
                advanced = true;
                continue;
            }
            int p = findPending(event.eventHash());
            if (p >= 0 && (pendingMasks[p] & bit) != 0) {
                // A copy of an event already handed out through another scope.
                set(i, event.id());
                pendingMasks[p] &= ~bit;
                if (pendingMasks[p] == 0) {
                    removePending(p);
                }
                advanced = true;
                continue;
            }
            long others = followedMask(event) & ~bit;
            if (others != 0 && !addPending(event.eventHash(), others)) {
                end(End.SLOW_CONSUMER);
                break;
            }
            set(i, event.id());
            items.add(new Item.Event(event, cursor()));
            delivered++;
            advanced = false;
        }
        if (advanced) {
            items.add(new Item.Advance(cursor()));
        }
        relay.countDeliveries(delivered);
    }

    /** The cursor as it stands; it names the newest copies still to come, as many as a cursor holds. */
    public String cursor() {
        int named = Math.min(pendingCount, Cursor.MAX_PENDING);
        return encoder.encode(epochs, millis, sequences, pendingHashes, pendingMasks, pendingCount - named, named);
    }

    private StreamId position(int i) {
        return new StreamId(millis[i], sequences[i]);
    }

    private void set(int i, StreamId id) {
        millis[i] = id.millis();
        sequences[i] = id.sequence();
    }

    private int findPending(long hash) {
        for (int p = 0; p < pendingCount; p++) {
            if (pendingHashes[p] == hash) {
                return p;
            }
        }
        return -1;
    }

    /** Remembers copies still to come of an event; false when that would be more than {@link #MAX_PENDING_HELD}. */
    private boolean addPending(long hash, long mask) {
        int existing = findPending(hash);
        if (existing >= 0) {
            pendingMasks[existing] |= mask;
            return true;
        }
        if (pendingCount == MAX_PENDING_HELD) {
            return false;
        }
        if (pendingHashes.length == pendingCount) {
            int length = Math.min(MAX_PENDING_HELD, Math.max(4, pendingCount * 2));
            pendingHashes = java.util.Arrays.copyOf(pendingHashes, length);
            pendingMasks = java.util.Arrays.copyOf(pendingMasks, length);
        }
        pendingHashes[pendingCount] = hash;
        pendingMasks[pendingCount] = mask;
        pendingCount++;
        return true;
    }

    private void removePending(int p) {
        System.arraycopy(pendingHashes, p + 1, pendingHashes, p, pendingCount - p - 1);
        System.arraycopy(pendingMasks, p + 1, pendingMasks, p, pendingCount - p - 1);
        pendingCount--;
        if (pendingCount == 0 && pendingHashes.length > Cursor.MAX_PENDING) {
            // A backlog is over: an idle connection keeps no big arrays.
            pendingHashes = NONE;
            pendingMasks = NONE;
        }
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

    boolean closed() {
        return closed;
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
        return "session" + Arrays.toString(scopes);
    }
}

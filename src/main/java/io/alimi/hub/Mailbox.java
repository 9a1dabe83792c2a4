package io.alimi.hub;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * A connection's bounded queue of live events: filled by the node's tailer, emptied by the connection's writer.
 *
 * <p>{@link #offer} never blocks: when the queue is full it says so and the caller disconnects the slow client,
 * so one client can neither slow the tailer nor grow memory without bound. The ring starts small and grows up to
 * its capacity: an idle connection holds no ring at all. One producer thread (the tailer), one consumer (the
 * writer); {@link #wake()} may be called from any thread.
 */
final class Mailbox {

    private static final int INITIAL = 8;

    private final int capacity;
    private LiveEvent[] ring;
    private int head;
    private int size;
    private volatile Thread waiting;

    Mailbox(int capacity) {
        this.capacity = capacity;
    }

    /** Adds an event; false when the queue is full (nothing is added). */
    boolean offer(LiveEvent event) {
        synchronized (this) {
            if (size == capacity) {
                return false;
            }
            if (ring == null || size == ring.length) {
                grow();
            }
            ring[(head + size) % ring.length] = event;
            size++;
        }
        wake();
        return true;
    }

    /** Moves up to {@code max} queued events to {@code into}, in order; returns how many. */
    int drainTo(List<LiveEvent> into, int max) {
        synchronized (this) {
            int n = Math.min(max, size);
            for (int i = 0; i < n; i++) {
                into.add(ring[head]);
                ring[head] = null;
                head = (head + 1) % ring.length;
            }
            size -= n;
            if (size == 0 && ring != null && ring.length > INITIAL * 4) {
                // A burst is over: give the big ring back.
                ring = null;
                head = 0;
            }
            return n;
        }
    }

    synchronized boolean isEmpty() {
        return size == 0;
    }

    /**
     * Parks the calling (consumer) thread until an event arrives, {@link #wake()} is called or the thread is
     * interrupted. No timeout: a timed park of a virtual thread arms a timer every time, which at tens of thousands
     * of deliveries a second costs more than the delivery; deadlines are kept by the relay's ticker instead.
     */
    void await(java.util.function.BooleanSupplier ready) {
        Thread self = Thread.currentThread();
        waiting = self;
        try {
            // Re-check after publishing ourselves as waiting: an offer in between has seen us and will unpark.
            if (!isEmpty() || ready.getAsBoolean()) {
                return;
            }
            LockSupport.park(this);
        } finally {
            waiting = null;
        }
    }

    void wake() {
        Thread thread = waiting;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
    }

    private void grow() {
        int length = ring == null ? Math.min(INITIAL, capacity) : Math.min(ring.length * 2, capacity);
        LiveEvent[] bigger = new LiveEvent[length];
        for (int i = 0; i < size; i++) {
            bigger[i] = ring[(head + i) % ring.length];
        }
        ring = bigger;
        head = 0;
    }
}

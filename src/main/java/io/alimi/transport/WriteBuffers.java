package io.alimi.transport;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The node's few write buffers, lent to a stream writer for one flush and given back after it: a broadcast fills
 * and writes thousands of frames a second, and a buffer allocated for each of them was most of what the node
 * allocated (and collected) per delivery. An idle connection holds none.
 *
 * <p>Lock-free: a buffer is taken by emptying a slot and given back by filling an empty one, starting from a random
 * slot so that writers on different carrier threads rarely meet. When every slot is empty (more writers flushing
 * at once than slots) a new buffer is allocated; when every slot is full on the way back, the buffer is dropped.
 * So the pool never holds more than {@link #SLOTS} × {@link #SIZE} bytes.
 */
final class WriteBuffers {

    /** Enough for a frame of a typical event, and for a few of them batched. */
    static final int SIZE = 8 * 1024;
    private static final int SLOTS = 64;
    private static final AtomicReferenceArray<byte[]> POOL = new AtomicReferenceArray<>(SLOTS);

    private WriteBuffers() {
    }

    /** A buffer of {@link #SIZE} bytes, pooled or new; its content is undefined. */
    static byte[] take() {
        int start = ThreadLocalRandom.current().nextInt(SLOTS);
        for (int i = 0; i < SLOTS; i++) {
            int slot = (start + i) & (SLOTS - 1);
            if (POOL.getPlain(slot) != null) {
                byte[] buffer = POOL.getAndSet(slot, null);
                if (buffer != null) {
                    return buffer;
                }
            }
        }
        return new byte[SIZE];
    }

    /** Gives a buffer back once nothing refers to it; only buffers of {@link #SIZE} are kept. */
    static void giveBack(byte[] buffer) {
        if (buffer.length != SIZE) {
            return;
        }
        int start = ThreadLocalRandom.current().nextInt(SLOTS);
        for (int i = 0; i < SLOTS; i++) {
            int slot = (start + i) & (SLOTS - 1);
            if (POOL.getPlain(slot) == null && POOL.compareAndSet(slot, null, buffer)) {
                return;
            }
        }
    }
}

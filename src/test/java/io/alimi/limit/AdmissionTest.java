package io.alimi.limit;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The node's admission rate and the delays it gives, on a hand-moved clock and a chosen "random". */
class AdmissionTest {

    private static final long MS = 1_000_000L;
    private static final long SECOND = 1_000 * MS;
    /** The shortest delay the window allows. */
    private static final LongUnaryOperator SHORTEST = bound -> 0;
    /** The longest delay the window allows. */
    private static final LongUnaryOperator LONGEST = bound -> bound - 1;

    // Far from zero and near the wrap-around, as System.nanoTime() may be.
    private final AtomicLong now = new AtomicLong(Long.MAX_VALUE - 5 * SECOND);

    private Admission admission(double perSecond, int burst, LongUnaryOperator random) {
        return new Admission(perSecond, burst, now::get, random);
    }

    @Test
    void theBurstIsAdmittedAtOnceThenOneStreamPerInterval() {
        Admission admission = admission(10, 3, LONGEST);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, admission.take(), "open " + i + " of the burst");
        }
        assertTrue(admission.take() > 0, "the fourth at the same instant waits");
        now.addAndGet(99 * MS);
        assertTrue(admission.take() > 0, "not before one interval (100 ms at 10 per second)");
        now.addAndGet(MS);
        assertEquals(0, admission.take());
        assertTrue(admission.take() > 0);
    }

    @Test
    void aRefusedClientTakesNothingFromTheBucket() {
        Admission admission = admission(10, 1, LONGEST);
        assertEquals(0, admission.take());
        for (int i = 0; i < 50; i++) {
            assertTrue(admission.take() > 0);
        }
        now.addAndGet(100 * MS);
        assertEquals(0, admission.take(), "fifty refusals did not push the next admission back");
        assertTrue(admission.take() > 0);
    }

    @Test
    void theDelayGrowsWithTheNumberOfClientsWaiting() {
        Admission admission = admission(100, 100, LONGEST);
        for (int i = 0; i < 100; i++) {
            assertEquals(0, admission.take());
        }
        // At 100 per second the k-th client refused at this instant is admissible after (k + 1) × 10 ms.
        List<Long> delays = new ArrayList<>();
        for (int k = 1; k <= 1000; k++) {
            delays.add(admission.take());
        }
        assertEquals(1, delays.get(0));
        assertEquals(1, delays.get(98), "the 99th needs 1 s");
        assertEquals(2, delays.get(99), "the 100th needs 1.01 s: told up to 2 s");
        assertEquals(11, delays.get(999), "the 1000th needs 10.01 s");
        for (int i = 1; i < delays.size(); i++) {
            assertTrue(delays.get(i) >= delays.get(i - 1), "the longest delay offered never shrinks within a wave");
        }
        assertEquals(10.01, admission.backlogSeconds(), 1e-9);
    }

    @Test
    void theDelayIsDrawnBetweenOneSecondAndTheTimeTheBacklogNeeds() {
        List<Long> bounds = new ArrayList<>();
        Admission shortest = admission(10, 1, bound -> {
            bounds.add(bound);
            return 0;
        });
        shortest.take();
        for (int i = 0; i < 50; i++) {
            assertEquals(1, shortest.take(), "the draw's lowest is 1 s");
        }
        assertEquals(1, bounds.get(0), "the first waiting client has one second to be spread over");
        assertEquals(6, bounds.get(49), "the 50th needs 5.1 s: spread over 1 to 6 s");

        Admission middle = admission(10, 1, bound -> bound / 2);
        middle.take();
        long last = 0;
        for (int i = 0; i < 50; i++) {
            last = middle.take();
        }
        assertEquals(4, last, "1 + the draw (3 of 0 to 5): a random second within the window, not its end");
    }

    @Test
    void noClientIsToldToWaitMoreThanThirtySeconds() {
        Admission admission = admission(1, 1, LONGEST);
        admission.take();
        long longest = 0;
        for (int i = 0; i < 1000; i++) {
            long delay = admission.take();
            assertTrue(delay >= 1 && delay <= 30, "delay " + delay);
            longest = Math.max(longest, delay);
        }
        assertEquals(30, longest);
        assertEquals(30.0, admission.backlogSeconds(), 1e-9, "the backlog is not counted beyond what a delay can say");
    }

    @Test
    void theBacklogDrainsOnceRefusalsStop() {
        Admission admission = admission(10, 1, LONGEST);
        admission.take();
        for (int i = 0; i < 100; i++) {
            admission.take();
        }
        assertEquals(10.1, admission.backlogSeconds(), 1e-9, "100 waiting at 10 per second, after the next interval");
        now.addAndGet(5 * SECOND);
        assertEquals(5.1, admission.backlogSeconds(), 1e-9);
        now.addAndGet(6 * SECOND);
        assertEquals(0.0, admission.backlogSeconds());
        assertEquals(0, admission.take(), "the bucket refilled meanwhile");
        assertEquals(1, admission.take(), "a new wave starts from a short delay, not from the old backlog");
    }

    @Test
    void concurrentOpensAtOneInstantAdmitExactlyTheBurst() throws InterruptedException {
        Admission admission = admission(1, 500, LONGEST);
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger outOfRange = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 32; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < 100; i++) {
                    long delay = admission.take();
                    if (delay == 0) {
                        admitted.incrementAndGet();
                    } else if (delay > 30) {
                        outOfRange.incrementAndGet();
                    }
                }
            }));
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(500, admitted.get(), "no admission lost or doubled by a race");
        assertEquals(0, outOfRange.get());
        assertEquals(30.0, admission.backlogSeconds(), 1e-9, "2,700 waiting at 1 per second: capped at 30 s");
    }
}

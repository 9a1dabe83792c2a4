package io.alimi.limit;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LimitsTest {

    @Test
    void anAddressGetsItsBurstAtOnceThenTheRate() {
        Limits limits = new Limits(new Limits.Settings(10, 100, 1, 3, 1e9, 1_000_000));
        for (int i = 0; i < 3; i++) {
            assertTrue(limits.connect("198.51.100.1").isEmpty(), "connect " + i);
        }
        Optional<Limits.Exceeded> fourth = limits.connect("198.51.100.1");
        assertTrue(fourth.isPresent());
        assertEquals(Limit.CONNECTS_PER_SECOND_PER_IP, fourth.get().limit());
        assertEquals(1, fourth.get().retryAfterSeconds());
        assertTrue(limits.connect("198.51.100.2").isEmpty(), "another address has its own bucket");
        assertEquals(1L, limits.refusals().get(Limit.CONNECTS_PER_SECOND_PER_IP));
    }

    @Test
    void aStreamOverTheNodesAdmissionRateIsRefusedNamingTheLimitAndCounted() {
        AtomicLong now = new AtomicLong();
        Limits limits = new Limits(new Limits.Settings(10, 100, 1e9, 1_000_000, 2, 2), now::get, bound -> bound - 1);
        assertTrue(limits.admit().isEmpty());
        assertTrue(limits.admit().isEmpty());
        assertTrue(limits.connect("198.51.100.1").isEmpty(), "per-address connects have their own bucket");
        Optional<Limits.Exceeded> third = limits.admit();
        assertTrue(third.isPresent());
        assertEquals(Limit.ADMISSIONS_PER_SECOND, third.get().limit());
        assertTrue(third.get().detail().contains("admissions-per-second: 2"), third.get().detail());
        assertEquals(1, third.get().retryAfterSeconds(), "the first waiting client needs one interval: 1 s at most");
        assertEquals(1L, limits.refusals().get(Limit.ADMISSIONS_PER_SECOND));
        assertEquals(0L, limits.refusals().get(Limit.CONNECTS_PER_SECOND_PER_IP));
        now.addAndGet(500_000_000L);
        assertTrue(limits.admit().isEmpty(), "half a second later, at 2 per second, one more");
    }

    @Test
    void perAdminAndPerNodeSlotsAreCountedAndGivenBackOnce() throws Exception {
        Limits limits = new Limits(new Limits.Settings(2, 3, 100, 100, 1e9, 1_000_000));
        Limits.Permit a1 = limits.acquire("a");
        Limits.Permit a2 = limits.acquire("a");
        Limits.LimitException third = assertThrows(Limits.LimitException.class, () -> limits.acquire("a"));
        assertEquals(Limit.CONNECTIONS_PER_ADMIN, third.exceeded().limit());
        Limits.Permit b1 = limits.acquire("b");
        Limits.LimitException full = assertThrows(Limits.LimitException.class, () -> limits.acquire("c"));
        assertEquals(Limit.MAX_CONNECTIONS, full.exceeded().limit());
        a1.close();
        a1.close();
        assertEquals(2, limits.connections(), "a permit closed twice gives its slot back once");
        Limits.Permit a3 = limits.acquire("a");
        for (Limits.Permit permit : List.of(a2, a3, b1)) {
            permit.close();
        }
        assertEquals(0, limits.connections());
        assertEquals(0, limits.admins(), "no counter is left behind");
    }

    @Test
    void concurrentConnectsAndClosesOfOneAdminNeverExceedItsLimitNorLeakSlots() throws Exception {
        int limit = 5;
        Limits limits = new Limits(new Limits.Settings(limit, 1_000_000, 1e9, 1_000_000, 1e9, 1_000_000));
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 32; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 2_000; i++) {
                        try (Limits.Permit permit = limits.acquire("a")) {
                            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            inside.decrementAndGet();
                        } catch (Limits.LimitException refused) {
                            // over the limit: fine, try again
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertTrue(most.get() <= limit, "at most " + limit + " at once, saw " + most.get());
        assertEquals(0, limits.connections());
        assertEquals(0, limits.admins());
    }
}

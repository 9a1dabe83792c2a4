package io.alimi.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting on a condition with a deadline; tests never sleep to wait for something. */
public final class Await {

    private Await() {
    }

    /** Polls {@code condition} until it holds, failing with {@code what} after {@code timeout}. */
    public static void until(Duration timeout, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + what);
            }
            pause(pause);
            pause = Math.min(pause * 2, 50);
        }
    }

    /** Polls {@code value} until {@code accept} holds for it, returning that value; fails with the last one seen. */
    public static <T> T value(Duration timeout, String what, Supplier<T> value, java.util.function.Predicate<T> accept) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        T last = value.get();
        while (!accept.test(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + what + "; last seen: " + last);
            }
            pause(pause);
            pause = Math.min(pause * 2, 50);
            last = value.get();
        }
        return last;
    }

    /** The poll interval between two checks of a condition (not a wait for the condition itself). */
    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}

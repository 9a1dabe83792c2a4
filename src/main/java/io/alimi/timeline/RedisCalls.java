package io.alimi.timeline;

import io.lettuce.core.RedisFuture;

import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/** Waiting for a Redis call from a virtual thread, with a bound: the store's failure as a CompletionException. */
public final class RedisCalls {

    private static final long TIMEOUT_SECONDS = 10;

    private RedisCalls() {
    }

    /** The call's result; throws {@link CompletionException} when Redis fails or does not answer in 10 s. */
    public static <T> T await(RedisFuture<T> future) {
        return await((java.util.concurrent.Future<T>) future);
    }

    /** {@link #await(RedisFuture)} for a call already turned into a plain future (a Lua script's). */
    public static <T> T await(java.util.concurrent.Future<T> future) {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        } catch (Exception e) {
            throw new CompletionException(e);
        }
    }
}

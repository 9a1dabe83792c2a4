package io.alimi.timeline;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/**
 * A Lua script from {@code redis/lua/}, called by digest (EVALSHA) so its text crosses the wire once; when Redis
 * does not know it (first call, restart, failover) the call falls back to EVAL, which also caches it.
 */
public final class LuaScript {

    private final String name;
    private final String source;
    private final String sha1;

    private LuaScript(String name, String source) {
        this.name = name;
        this.source = source;
        this.sha1 = sha1(source);
    }

    /** Loads {@code redis/lua/<name>.lua}, shipped in the jar as {@code io/alimi/lua/<name>.lua}. */
    public static LuaScript load(String name) {
        String resource = "/io/alimi/lua/" + name + ".lua";
        try (InputStream in = LuaScript.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing script " + resource);
            }
            return new LuaScript(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read script " + resource, e);
        }
    }

    public String name() {
        return name;
    }

    public <T> CompletableFuture<T> call(RedisClusterAsyncCommands<String, byte[]> redis, ScriptOutputType output,
                                         String[] keys, byte[]... args) {
        return redis.<T>evalsha(sha1, output, keys, args).toCompletableFuture()
                .exceptionallyCompose(failure -> {
                    if (unwrap(failure) instanceof RedisNoScriptException) {
                        return redis.<T>eval(source, output, keys, args).toCompletableFuture();
                    }
                    return CompletableFuture.failedFuture(failure);
                });
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is part of every JDK", e);
        }
    }
}

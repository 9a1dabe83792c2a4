package io.alimi.auth;

import io.alimi.event.Sha256;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Producer API keys. Only SHA-256 digests are kept in memory; a presented key is compared against every known
 * digest in constant time, so neither the comparison nor the number of keys tried tells an attacker anything.
 */
public final class ApiKeys {

    public static final int MIN_KEY_LENGTH = 16;

    private final List<Named> keys;

    private record Named(String name, byte[] digest) {
    }

    private ApiKeys(List<Named> keys) {
        this.keys = List.copyOf(keys);
    }

    /**
     * Parses {@code name=key,name=key}.
     *
     * @throws IllegalArgumentException naming the entry at fault (never its key)
     */
    public static ApiKeys parse(List<String> entries) {
        List<Named> keys = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            String entry = entries.get(i);
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("entry " + (i + 1) + " is not name=key");
            }
            String name = entry.substring(0, eq).strip();
            String key = entry.substring(eq + 1).strip();
            if (key.length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException("the key named '" + name + "' is shorter than " + MIN_KEY_LENGTH + " characters");
            }
            keys.add(new Named(name, sha256(key)));
        }
        return new ApiKeys(keys);
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /** The name of the key, if {@code presented} is one of them. */
    public Optional<String> verify(String presented) {
        byte[] digest = sha256(presented);
        String match = null;
        for (Named key : keys) {
            if (MessageDigest.isEqual(key.digest(), digest)) {
                match = key.name();
            }
        }
        return Optional.ofNullable(match);
    }

    static byte[] sha256(String text) {
        return Sha256.digest(text);
    }
}

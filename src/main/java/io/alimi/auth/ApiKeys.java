package io.alimi.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.alimi.event.Envelope;
import io.alimi.event.Scope;
import io.alimi.event.Sha256;
import io.alimi.event.Text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Producer API keys. Only SHA-256 digests are kept; a presented key is compared against every known digest in
 * constant time, so neither the comparison nor the number of keys tried tells an attacker anything.
 *
 * <p>Keys come from two places: {@code alimi.publish.api-keys} ({@code name=key,…}, unrestricted, handy for
 * development) and the keys file ({@code alimi.publish.api-keys-file}), which holds digests only, each key
 * optionally restricted to source and type prefixes and to targets: whole kinds ({@code mall}: every mall) and
 * explicit scopes ({@code partner:7}, {@code mall:12}):
 *
 * <pre>{@code
 * {"keys": [
 *   {"name": "orders-2026-11", "sha256": "<hex of SHA-256 of the key>",
 *    "sources": ["/orders"], "types": ["order."], "targets": ["mall", "admin"]},
 *   {"name": "partner-7-dev", "sha256": "<hex>", "targets": ["partner:7", "mall:12", "mall:13"]}
 * ]}
 * }</pre>
 *
 * A missing restriction allows anything; a listed one allows only what it lists: a target is allowed if its kind is
 * listed or it is listed itself.
 */
public final class ApiKeys {

    public static final int MIN_KEY_LENGTH = 16;
    private static final Set<Scope.Kind> ANY_KIND = EnumSet.allOf(Scope.Kind.class);

    /**
     * One key: its name (for logs and metrics) and what it may publish.
     *
     * @param sources source prefixes it may publish from; empty for any
     * @param types   type prefixes it may publish; empty for any
     * @param targets scope kinds it may target (every scope of the kind)
     * @param scopes  scopes it may target besides those of its kinds
     */
    public record Key(String name, byte[] digest, List<String> sources, List<String> types, Set<Scope.Kind> targets,
                      Set<Scope> scopes) {

        public Key {
            sources = List.copyOf(sources);
            types = List.copyOf(types);
            targets = Set.copyOf(targets);
            scopes = Set.copyOf(scopes);
        }

        public Key(String name, byte[] digest, List<String> sources, List<String> types, Set<Scope.Kind> targets) {
            this(name, digest, sources, types, targets, Set.of());
        }

        /** Why this key may not publish {@code event}, if it may not. */
        public Optional<String> refusal(Envelope event) {
            if (!sources.isEmpty() && sources.stream().noneMatch(event.source()::startsWith)) {
                return Optional.of("source '" + Text.quote(event.source()) + "' is not one this key ('" + name
                        + "') may publish from " + sources);
            }
            if (!types.isEmpty() && types.stream().noneMatch(event.type()::startsWith)) {
                return Optional.of("type '" + Text.quote(event.type()) + "' is not one this key ('" + name
                        + "') may publish " + types);
            }
            for (Scope target : event.targets()) {
                if (!targets.contains(target.kind()) && !scopes.contains(target)) {
                    return Optional.of("target " + target + " is not one this key ('" + name + "') may target "
                            + allowed());
                }
            }
            return Optional.empty();
        }

        /** What it may target, as in its file: kinds, then scopes. */
        private List<String> allowed() {
            List<String> allowed = new ArrayList<>(targets.stream().map(Scope.Kind::label).sorted().toList());
            scopes.stream().map(Scope::toString).sorted().forEach(allowed::add);
            return allowed;
        }
    }

    public static final ApiKeys NONE = new ApiKeys(List.of());

    private final List<Key> keys;

    private ApiKeys(List<Key> keys) {
        this.keys = List.copyOf(keys);
    }

    /**
     * Parses {@code name=key,name=key}: unrestricted keys.
     *
     * @throws IllegalArgumentException naming the entry at fault (never its key)
     */
    public static ApiKeys parse(List<String> entries) {
        List<Key> keys = new ArrayList<>();
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
            keys.add(new Key(name, sha256(key), List.of(), List.of(), ANY_KIND));
        }
        return new ApiKeys(keys);
    }

    /**
     * Reads a keys file (see the class comment).
     *
     * @throws IllegalArgumentException naming the file, the entry (by position and name) and the rule it breaks
     */
    public static ApiKeys load(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not JSON (line " + e.getLocation().getLineNr() + ")");
        }
        if (root == null || !root.path("keys").isArray()) {
            throw new IllegalArgumentException(file + ": must be a JSON object with a \"keys\" array");
        }
        List<Key> keys = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        int position = 0;
        for (JsonNode entry : root.get("keys")) {
            position++;
            String where = file + ": key " + position;
            String name = entry.path("name").asText("");
            if (name.isBlank()) {
                throw new IllegalArgumentException(where + ": name is missing");
            }
            where += " ('" + Text.quote(name) + "')";
            if (!names.add(name)) {
                throw new IllegalArgumentException(where + ": the name is used twice");
            }
            String hex = entry.path("sha256").asText("");
            if (!hex.matches("[0-9a-fA-F]{64}")) {
                throw new IllegalArgumentException(where + ": sha256 must be the 64 hex digits of the key's SHA-256 digest");
            }
            Set<Scope.Kind> kinds = EnumSet.noneOf(Scope.Kind.class);
            Set<Scope> scopes = new LinkedHashSet<>();
            if (entry.has("targets")) {
                for (String label : strings(where, entry, "targets")) {
                    if (label.indexOf(':') >= 0) {
                        try {
                            scopes.add(Scope.parse(label));
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException(where + ": targets: '" + Text.quote(label)
                                    + "' is not a scope: " + e.getMessage());
                        }
                        continue;
                    }
                    Scope.Kind kind = Scope.Kind.of(label);
                    if (kind == null) {
                        throw new IllegalArgumentException(where + ": targets: '" + Text.quote(label)
                                + "' is neither a kind (all, mall, admin, partner) nor a scope such as partner:7");
                    }
                    kinds.add(kind);
                }
                if (kinds.isEmpty() && scopes.isEmpty()) {
                    throw new IllegalArgumentException(where + ": targets is empty: the key could publish nothing "
                            + "(leave targets out to allow every target)");
                }
            } else {
                kinds.addAll(ANY_KIND);
            }
            keys.add(new Key(name, HexFormat.of().parseHex(hex.toLowerCase(java.util.Locale.ROOT)),
                    strings(where, entry, "sources"), strings(where, entry, "types"), kinds, scopes));
        }
        return new ApiKeys(keys);
    }

    private static List<String> strings(String where, JsonNode entry, String field) {
        JsonNode array = entry.get(field);
        if (array == null || array.isNull()) {
            return List.of();
        }
        if (!array.isArray()) {
            throw new IllegalArgumentException(where + ": " + field + " must be an array of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonNode value : array) {
            if (!value.isTextual() || value.textValue().isEmpty()) {
                throw new IllegalArgumentException(where + ": " + field + " must be an array of non-empty strings");
            }
            values.add(value.textValue());
        }
        return values;
    }

    /** These keys and {@code other}'s. */
    public ApiKeys and(ApiKeys other) {
        List<Key> all = new ArrayList<>(keys);
        all.addAll(other.keys);
        return new ApiKeys(all);
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    public int size() {
        return keys.size();
    }

    /** The key, if {@code presented} is one of them. */
    public Optional<Key> verify(String presented) {
        byte[] digest = sha256(presented);
        Key match = null;
        for (Key key : keys) {
            if (MessageDigest.isEqual(key.digest(), digest)) {
                match = key;
            }
        }
        return Optional.ofNullable(match);
    }

    static byte[] sha256(String text) {
        return Sha256.digest(text);
    }
}

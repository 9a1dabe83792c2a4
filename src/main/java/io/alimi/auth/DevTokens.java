package io.alimi.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.alimi.event.Scope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Development identities: a JSON file mapping fixed tokens to profiles, for trying Alimi without an admin
 * service.
 *
 * <pre>{@code
 * { "dev-admin-42": { "adminNo": "42", "malls": ["1"], "partner": "7", "roles": ["operator"] } }
 * }</pre>
 *
 * Tokens are held as SHA-256 digests only, so a lookup's timing says nothing about a token's characters.
 */
public final class DevTokens implements Identities {

    private final Map<String, Identity> byDigest;

    private DevTokens(Map<String, Identity> byDigest) {
        this.byDigest = Map.copyOf(byDigest);
    }

    /**
     * Reads the token file.
     *
     * @throws IllegalArgumentException naming the entry (by position, never by token) and the rule it breaks
     */
    public static DevTokens load(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(Files.readAllBytes(file));
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": must be a JSON object of token → profile");
        }
        Map<String, Identity> byDigest = new HashMap<>();
        int position = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            position++;
            if (entry.getKey().length() < ApiKeys.MIN_KEY_LENGTH) {
                throw new IllegalArgumentException(file + ": token " + position + " is shorter than " + ApiKeys.MIN_KEY_LENGTH + " characters");
            }
            byDigest.put(digest(entry.getKey()), Identity.of(profile(file, position, entry.getValue())));
        }
        return new DevTokens(byDigest);
    }

    private static Profile profile(Path file, int position, JsonNode node) {
        String where = file + ": profile " + position;
        JsonNode adminNo = node.get("adminNo");
        if (adminNo == null || !adminNo.isTextual()) {
            throw new IllegalArgumentException(where + ": adminNo must be a string");
        }
        Set<String> malls = strings(where, node, "malls");
        Set<String> roles = strings(where, node, "roles");
        JsonNode partner = node.get("partner");
        if (partner != null && !partner.isNull() && !partner.isTextual()) {
            throw new IllegalArgumentException(where + ": partner must be a string or null");
        }
        Profile profile = new Profile(adminNo.textValue(), malls, Optional.ofNullable(partner).filter(JsonNode::isTextual)
                .map(JsonNode::textValue), roles);
        try {
            profile.scopes();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": ids must be 1 to " + Scope.MAX_ID_LENGTH + " characters of A-Z a-z 0-9 _ -");
        }
        return profile;
    }

    private static Set<String> strings(String where, JsonNode node, String field) {
        JsonNode array = node.get(field);
        if (array == null || array.isNull()) {
            return Set.of();
        }
        if (!array.isArray()) {
            throw new IllegalArgumentException(where + ": " + field + " must be an array of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonNode value : array) {
            if (!value.isTextual()) {
                throw new IllegalArgumentException(where + ": " + field + " must be an array of strings");
            }
            values.add(value.textValue());
        }
        return new LinkedHashSet<>(values);
    }

    @Override
    public Optional<Identity> resolve(String token) {
        return Optional.ofNullable(byDigest.get(digest(token)));
    }

    private static String digest(String token) {
        return HexFormat.of().formatHex(ApiKeys.sha256(token));
    }
}

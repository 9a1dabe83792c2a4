package io.alimi.support;

import io.alimi.Main;
import io.alimi.config.Settings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** A node started through {@link Main#start} (production wiring) against the test servers, on a free port. */
public final class TestNode {

    public static final String API_KEY = "test-publisher-key-0001";
    /** Admin 42 of mall 1 and partner 7. */
    public static final String ADMIN_42 = "test-admin-42-token-0001";
    /** Admin 77 of malls 2 and 3. */
    public static final String ADMIN_77 = "test-admin-77-token-0001";

    private TestNode() {
    }

    /** Settings of a relay-only node with a fresh key prefix; {@code overrides} win. */
    public static Settings settings(Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>();
        values.put("alimi.roles", "relay");
        values.put("alimi.http.host", "127.0.0.1");
        values.put("alimi.http.port", "0");
        values.put("alimi.redis.url", TestServers.redis().url());
        values.put("alimi.redis.key-prefix", TestServers.uniquePrefix());
        values.put("alimi.redis.connect-patience", "5s");
        values.put("alimi.publish.api-keys", "tests=" + API_KEY);
        values.put("alimi.auth.dev-tokens-file", devTokens().toString());
        values.putAll(overrides);
        return Settings.of(values);
    }

    public static Main.Running start(Map<String, String> overrides) {
        return Main.start(settings(overrides));
    }

    public static synchronized Path devTokens() {
        try {
            Path file = Files.createTempFile("alimi-dev-tokens-", ".json");
            file.toFile().deleteOnExit();
            Files.writeString(file, """
                    {
                      "%s": {"adminNo": "42", "malls": ["1"], "partner": "7", "roles": ["operator"]},
                      "%s": {"adminNo": "77", "malls": ["2", "3"], "roles": ["operator"]}
                    }
                    """.formatted(ADMIN_42, ADMIN_77));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

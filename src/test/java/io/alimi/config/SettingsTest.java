package io.alimi.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingsTest {

    @Test
    void environmentNamesAreTheKeyUpperCasedWithUnderscores() {
        assertEquals("ALIMI_REDIS_URL", Settings.envName("alimi.redis.url"));
        assertEquals("ALIMI_TIMELINE_MAX_LENGTH", Settings.envName("alimi.timeline.max-length"));
    }

    @Test
    void anEnvironmentStyleOverrideIsFoundByItsKey() {
        Settings settings = Settings.of(Map.of("ALIMI_TIMELINE_MAX_LENGTH", "500"));
        assertEquals(500, settings.integer("alimi.timeline.max-length", 10, 1, 1000));
    }

    @Test
    void theDottedKeyWinsOverTheEnvironmentName() {
        Settings settings = Settings.of(Map.of("ALIMI_HTTP_PORT", "1", "alimi.http.port", "2"));
        assertEquals(2, settings.integer("alimi.http.port", 0, 0, 65535));
    }

    @Test
    void unsetKeysTakeTheNamedDefault() {
        Settings settings = Settings.of(Map.of());
        assertEquals(Duration.ofDays(30), settings.duration("alimi.timeline.max-age", Duration.ofDays(30), Duration.ZERO, Duration.ofDays(999)));
        assertEquals("x", settings.string("alimi.nothing.here", "x"));
    }

    @Test
    void durationsAndSizesReadTheirShortForms() {
        Settings settings = Settings.of(Map.of("a.d1", "500ms", "a.d2", "24h", "a.d3", "PT15S", "a.d4", "30d",
                "a.s1", "64KiB", "a.s2", "4MiB", "a.s3", "1000"));
        Duration max = Duration.ofDays(365);
        assertEquals(Duration.ofMillis(500), settings.duration("a.d1", null, Duration.ZERO, max));
        assertEquals(Duration.ofHours(24), settings.duration("a.d2", null, Duration.ZERO, max));
        assertEquals(Duration.ofSeconds(15), settings.duration("a.d3", null, Duration.ZERO, max));
        assertEquals(Duration.ofDays(30), settings.duration("a.d4", null, Duration.ZERO, max));
        assertEquals(65536, settings.bytes("a.s1", 0, 0, Integer.MAX_VALUE));
        assertEquals(4 << 20, settings.bytes("a.s2", 0, 0, Integer.MAX_VALUE));
        assertEquals(1000, settings.bytes("a.s3", 0, 0, Integer.MAX_VALUE));
    }

    @Test
    void listsSplitOnCommasAndDropBlanks() {
        assertEquals(List.of("relay", "bridge"), Settings.of(Map.of("alimi.roles", " relay, ,bridge ")).list("alimi.roles"));
    }

    @Test
    void everyBadValueNamesItsKeyTheRuleAndTheEnvironmentVariable() {
        Settings settings = Settings.of(Map.of("alimi.http.port", "eighty", "alimi.timeline.max-length", "0",
                "alimi.timeline.max-age", "soon", "alimi.events.max-data-bytes", "64KB", "alimi.flag", "maybe"));
        SettingsException port = assertThrows(SettingsException.class, () -> settings.integer("alimi.http.port", 8080, 0, 65535));
        assertEquals("alimi.http.port: must be a whole number, got 'eighty' (environment variable ALIMI_HTTP_PORT)", port.getMessage());
        SettingsException length = assertThrows(SettingsException.class, () -> settings.integer("alimi.timeline.max-length", 1, 1, 10));
        assertTrue(length.getMessage().startsWith("alimi.timeline.max-length: must be between 1 and 10, got 0"), length.getMessage());
        SettingsException age = assertThrows(SettingsException.class,
                () -> settings.duration("alimi.timeline.max-age", Duration.ZERO, Duration.ZERO, Duration.ofDays(1)));
        assertTrue(age.getMessage().startsWith("alimi.timeline.max-age: must be a duration"), age.getMessage());
        SettingsException size = assertThrows(SettingsException.class, () -> settings.bytes("alimi.events.max-data-bytes", 1, 1, 100));
        assertTrue(size.getMessage().contains("must be a size like 65536, 64KiB or 4MiB"), size.getMessage());
        SettingsException flag = assertThrows(SettingsException.class, () -> settings.bool("alimi.flag", false));
        assertTrue(flag.getMessage().startsWith("alimi.flag: must be true or false"), flag.getMessage());
    }

    @Test
    void aMissingConfigFileIsNamed() {
        SettingsException e = assertThrows(SettingsException.class, () -> {
            System.setProperty("alimi.config", "/nonexistent/alimi.yaml");
            try {
                Settings.load();
            } finally {
                System.clearProperty("alimi.config");
            }
        });
        assertTrue(e.getMessage().startsWith("alimi.config: file /nonexistent/alimi.yaml cannot be read"), e.getMessage());
    }
}

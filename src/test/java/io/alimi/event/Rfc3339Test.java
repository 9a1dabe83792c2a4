package io.alimi.event;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Rfc3339Test {

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-25T09:30:00Z", "2026-11-25t09:30:00z", "2026-11-25T09:30:00.1Z",
            "2026-11-25T09:30:00.123456789+09:00", "2026-11-25T23:59:60-05:30", "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z", "0001-01-01T00:00:00+00:00"})
    void accepts(String text) {
        assertTrue(Rfc3339.isTimestamp(text), text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "2026-11-25", "2026-11-25T09:30:00", "2026-11-25 09:30:00Z", "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z", "2026-11-25T09:60:00Z", "2026-11-25T09:30:61Z", "2026-11-25T09:30:00.Z",
            "2026-11-25T09:30:00+0900", "2026-11-25T09:30:00+24:00", "2026-11-25T09:30:00Zjunk",
            "2026-11-25T09:30:00+09:00x", "yesterday at noon Z", "2026-11-25T09:30:00.١Z"})
    void refuses(String text) {
        assertFalse(Rfc3339.isTimestamp(text), text);
    }
}

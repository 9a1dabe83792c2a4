package io.alimi.event;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CursorTest {

    private static Cursor sample() {
        return new Cursor(List.of(
                new Cursor.Position(Scope.ALL, 0, 0, 0),
                new Cursor.Position(Scope.mall("1"), 3_356_946_890L, 1_795_616_965_034L, 0),
                new Cursor.Position(Scope.admin("42"), 707_769_417L, 1_795_616_961_874L, 7),
                new Cursor.Position(Scope.partner("p_7-x"), 1, 1, Long.MAX_VALUE)),
                List.of(new Cursor.Pending(Cursor.hash("ord-1"), Set.of(Scope.admin("42"), Scope.ALL))));
    }

    @Test
    void roundTripsThroughCompactUrlSafeText() throws InvalidEventException {
        Cursor cursor = sample();
        String text = cursor.encode();
        assertTrue(text.matches("[A-Za-z0-9_-]+"), text);
        assertTrue(text.length() < 120, text.length() + " characters");
        assertEquals(cursor, Cursor.decode(text));
    }

    @Test
    void randomCursorsRoundTrip() throws InvalidEventException {
        Random random = new Random(42);
        for (int round = 0; round < 500; round++) {
            List<Cursor.Position> positions = new ArrayList<>();
            int n = random.nextInt(10);
            for (int i = 0; i < n; i++) {
                positions.add(new Cursor.Position(Scope.mall("m" + i), random.nextLong(0, 1L << 32),
                        random.nextLong(0, Long.MAX_VALUE), random.nextLong(0, Long.MAX_VALUE)));
            }
            List<Cursor.Pending> pending = new ArrayList<>();
            for (int i = 0; i < (n == 0 ? 0 : random.nextInt(4)); i++) {
                pending.add(new Cursor.Pending(random.nextLong(), Set.of(positions.get(random.nextInt(n)).scope())));
            }
            Cursor cursor = new Cursor(positions, pending);
            assertEquals(cursor, Cursor.decode(cursor.encode()));
        }
    }

    @Test
    void eventHashesAreStableAndDistinct() {
        assertEquals(Cursor.hash("ord-1"), Cursor.hash("ord-1"));
        assertNotEquals(Cursor.hash("ord-1"), Cursor.hash("ord-2"));
    }

    static Stream<Arguments> garbage() {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String valid = sample().encode();
        return Stream.of(
                Arguments.of("empty", "", "is empty"),
                Arguments.of("not base64", "@@@not base64@@@", "not base64url"),
                Arguments.of("standard base64 padding", valid + "==", "not base64url"),
                Arguments.of("oversize", "A".repeat(Cursor.MAX_TEXT_LENGTH + 1), "longer than 8,192 characters"),
                Arguments.of("truncated", b64.encodeToString(java.util.Arrays.copyOf(Base64.getUrlDecoder().decode(valid),
                        Base64.getUrlDecoder().decode(valid).length - 3)), "truncated"),
                Arguments.of("trailing bytes", b64.encodeToString(new byte[] {1, 0, 0, 7}), "trailing bytes"),
                Arguments.of("unknown version", b64.encodeToString(new byte[] {9, 0, 0}), "version 9 is not supported"),
                Arguments.of("too many scopes", b64.encodeToString(new byte[] {1, 65}), "out-of-range"),
                Arguments.of("unknown kind", b64.encodeToString(new byte[] {1, 1, 7}), "unknown scope kind"),
                Arguments.of("bad scope id", b64.encodeToString(new byte[] {1, 1, 1, 1, '{', 0, 0, 0, 0}), "invalid scope id"),
                Arguments.of("scope twice", b64.encodeToString(new byte[] {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "names scope all twice"),
                Arguments.of("overlong varint", b64.encodeToString(new byte[] {1, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1}), "number"),
                Arguments.of("mask beyond scopes", b64.encodeToString(new byte[] {1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2}), "does not list"),
                Arguments.of("epoch beyond 32 bits", b64.encodeToString(new byte[] {1, 1, 0, -1, -1, -1, -1, 31, 0, 0, 0}), "out-of-range"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void garbage(String name, String text, String message) {
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> Cursor.decode(text));
        assertEquals("cursor", e.field());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void randomBytesNeverEscapeAsAnythingButInvalidCursor() {
        Random random = new Random(7);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        for (int round = 0; round < 20_000; round++) {
            byte[] bytes = new byte[random.nextInt(40)];
            random.nextBytes(bytes);
            if (bytes.length > 0 && random.nextBoolean()) {
                bytes[0] = 1;
            }
            try {
                Cursor.decode(b64.encodeToString(bytes));
            } catch (InvalidEventException expected) {
                assertEquals("cursor", expected.field());
            }
        }
    }
}

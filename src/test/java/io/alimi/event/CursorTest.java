package io.alimi.event;

import io.alimi.support.Cursors;
import io.alimi.timeline.StreamId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CursorTest {

    private static final long NOW = 1_795_616_965_034L;
    private static final List<Scope> FEW = List.of(Scope.ALL, Scope.mall("1"), Scope.admin("42"), Scope.partner("p_7-x"));

    /** {@code n} scopes as a platform operator has them: everyone's, their own, their malls. */
    private static List<Scope> operatorOf(int malls, int idLength) {
        List<Scope> scopes = new ArrayList<>();
        scopes.add(Scope.ALL);
        scopes.add(Scope.admin("100"));
        for (int m = 0; m < malls; m++) {
            String id = Integer.toString(100_000 + m);
            scopes.add(Scope.mall(id.length() >= idLength ? id : id + "x".repeat(idLength - id.length())));
        }
        return Cursor.sorted(scopes);
    }

    @Test
    void roundTripsThroughCompactUrlSafeText() throws InvalidEventException {
        String text = Cursors.of(FEW, NOW, Map.of(Scope.mall("1"), new StreamId(NOW + 3, 7)),
                new EventId("/orders", "ord-1").hash());
        assertTrue(text.matches("[A-Za-z0-9_-]+"), text);
        assertTrue(text.length() < 80, text.length() + " characters");
        Cursor cursor = Cursor.decode(text);
        assertEquals(2, cursor.version());
        assertEquals(NOW, cursor.watermark());
        assertEquals(new Cursor.Followed.Listed(Cursor.sorted(FEW)), cursor.followed());
        int mall = Cursor.sorted(FEW).indexOf(Scope.mall("1"));
        assertEquals(List.of(new Cursor.Mark(mall, NOW + 3, 7, -1)), cursor.marks());
        assertArrayEquals(new long[] {new EventId("/orders", "ord-1").hash()}, cursor.pending());
    }

    @ParameterizedTest(name = "{0} scopes")
    @ValueSource(ints = {1, 63, 64, 65, 1_000, 10_000})
    void aCursorOfAnyNumberOfScopesFitsInALastEventIdHeaderAndRoundTrips(int count) throws InvalidEventException {
        for (int idLength : new int[] {6, Scope.MAX_ID_LENGTH}) {
            List<Scope> scopes = operatorOf(Math.max(0, count - 2), idLength).subList(0, count);
            long[] pending = new long[Cursor.MAX_PENDING];
            for (int p = 0; p < pending.length; p++) {
                pending[p] = new EventId("/s", "e-" + p).hash();
            }
            // As many marks as a session lets a cursor hold, each as large as it can be.
            Map<Scope, StreamId> marks = new HashMap<>();
            int bytes = 0;
            for (int i = scopes.size() - 1; i >= 0; i--) {
                int cost = Cursor.Writer.markBytes(scopes.size(), Cursor.MAX_MILLIS - NOW, Cursor.MAX_SEQUENCE);
                if (bytes + cost > Cursor.MAX_MARK_BYTES) {
                    break;
                }
                bytes += cost;
                marks.put(scopes.get(i), new StreamId(Cursor.MAX_MILLIS, Cursor.MAX_SEQUENCE));
            }
            String text = Cursors.of(scopes, NOW, marks, pending);
            assertTrue(text.length() <= Cursor.MAX_WRITTEN_LENGTH, count + " scopes of " + idLength + " characters: "
                    + text.length() + " characters");
            Cursor cursor = Cursor.decode(text);
            assertEquals(marks.size(), cursor.marks().size());
            assertEquals(pending.length, cursor.pending().length);
            boolean listed = Cursor.encodeScopes(scopes).length <= Cursor.MAX_LISTED_BYTES;
            if (listed) {
                assertEquals(new Cursor.Followed.Listed(scopes), cursor.followed());
            } else {
                assertEquals(new Cursor.Followed.Stored(Cursor.digest(scopes)), cursor.followed());
            }
            for (Cursor.Mark mark : cursor.marks()) {
                assertEquals(new StreamId(Cursor.MAX_MILLIS, Cursor.MAX_SEQUENCE), marks.get(scopes.get(mark.index())));
            }
        }
    }

    @Test
    void smallSetsTravelInTheCursorAndLargeOnesAsADigestOfTheSortedSet() throws InvalidEventException {
        assertInstanceOf(Cursor.Followed.Listed.class, Cursor.decode(Cursors.at(operatorOf(12, 6), NOW)).followed());
        Cursor wide = Cursor.decode(Cursors.at(operatorOf(1_000, 6), NOW));
        assertEquals(new Cursor.Followed.Stored(Cursor.digest(operatorOf(1_000, 6))), wide.followed());
        assertNotEquals(Cursor.digest(operatorOf(1_000, 6)), Cursor.digest(operatorOf(1_001, 6)));
        assertEquals(operatorOf(1_000, 6), Cursor.decodeScopes(Cursor.encodeScopes(operatorOf(1_000, 6))));
    }

    @Test
    void theNumericExtremesRoundTripAndNothingBeyondThemIsAccepted() throws InvalidEventException {
        List<Scope> one = List.of(Scope.mall("1"));
        Cursor top = Cursor.decode(Cursors.of(one, Cursor.MAX_MILLIS - 1,
                Map.of(Scope.mall("1"), new StreamId(Cursor.MAX_MILLIS, Cursor.MAX_SEQUENCE))));
        assertEquals(new Cursor.Mark(0, Cursor.MAX_MILLIS, Cursor.MAX_SEQUENCE, -1), top.marks().get(0));
        assertEquals(0, Cursor.decode(Cursors.at(one, 0)).watermark());
        assertEquals(Cursor.MAX_MILLIS, Cursor.decode(Cursors.at(one, Cursor.MAX_MILLIS)).watermark());

        InvalidEventException tooLate = assertThrows(InvalidEventException.class,
                () -> Cursor.decode(Cursors.at(one, Cursor.MAX_MILLIS + 1)));
        assertTrue(tooLate.getMessage().contains("out-of-range"), tooLate.getMessage());
        InvalidEventException markTooLate = assertThrows(InvalidEventException.class, () -> Cursor.decode(
                Cursors.of(one, Cursor.MAX_MILLIS, Map.of(Scope.mall("1"), new StreamId(Cursor.MAX_MILLIS + 1, 0)))));
        assertTrue(markTooLate.getMessage().contains("out-of-range"), markTooLate.getMessage());
        InvalidEventException sequenceTooLarge = assertThrows(InvalidEventException.class, () -> Cursor.decode(
                Cursors.of(one, 0, Map.of(Scope.mall("1"), new StreamId(5, Cursor.MAX_SEQUENCE + 1)))));
        assertTrue(sequenceTooLarge.getMessage().contains("out-of-range"), sequenceTooLarge.getMessage());
        // Version 1 accepted any 63-bit position; positions at the top overflowed once a session added to them.
        InvalidEventException v1Top = assertThrows(InvalidEventException.class,
                () -> Cursor.decode(Cursors.v1(Map.of(Scope.mall("1"), new long[] {0, Long.MAX_VALUE, Long.MAX_VALUE}))));
        assertTrue(v1Top.getMessage().contains("out-of-range"), v1Top.getMessage());
    }

    @Test
    void versionOneCursorsAreStillReadAsTheSetTheyListWithTheirEpochs() throws InvalidEventException {
        Map<Scope, long[]> positions = new LinkedHashMap<>();
        positions.put(Scope.mall("1"), new long[] {3_356_946_890L, NOW, 0});
        positions.put(Scope.ALL, new long[] {0, 0, 0});
        positions.put(Scope.admin("42"), new long[] {707_769_417L, NOW - 5, 7});
        Cursor cursor = Cursor.decode(Cursors.v1(positions));
        assertEquals(1, cursor.version());
        List<Scope> sorted = Cursor.sorted(positions.keySet());
        assertEquals(new Cursor.Followed.Listed(sorted), cursor.followed());
        assertEquals(NOW, cursor.watermark());
        assertEquals(new Cursor.Mark(sorted.indexOf(Scope.admin("42")), NOW - 5, 7, 707_769_417L),
                cursor.marks().get(sorted.indexOf(Scope.admin("42"))));
    }

    @Test
    void eventHashesAreStableDistinctPerSourceAndKeepTheFirstVersionsForIdsAlone() {
        assertEquals(new EventId("/a", "1").hash(), new EventId("/a", "1").hash());
        assertNotEquals(new EventId("/a", "1").hash(), new EventId("/b", "1").hash());
        // Where the source ends cannot be moved into the id.
        assertNotEquals(new EventId("/a1", "2").hash(), new EventId("/a", "12").hash());
        assertNotEquals(new EventId("/a1", "2").keyText(), new EventId("/a", "12").keyText());
        byte[] sha = Sha256.digest("ord-1");
        long first8 = 0;
        for (int i = 0; i < 8; i++) {
            first8 = (first8 << 8) | (sha[i] & 0xFF);
        }
        assertEquals(first8, new EventId(null, "ord-1").hash());
    }

    static Stream<Arguments> garbage() {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String valid = Cursors.of(FEW, NOW, Map.of(Scope.mall("1"), new StreamId(NOW + 1, 0)), 5L);
        byte[] validBytes = Base64.getUrlDecoder().decode(valid);
        return Stream.of(
                Arguments.of("empty", "", "is empty"),
                Arguments.of("not base64", "@@@not base64@@@", "not base64url"),
                Arguments.of("padding inside", "AQ=AAA", "not base64url"),
                Arguments.of("oversize", "A".repeat(Cursor.MAX_TEXT_LENGTH + 1), "longer than 8,192 characters"),
                Arguments.of("truncated", b64.encodeToString(java.util.Arrays.copyOf(validBytes, validBytes.length - 3)), "truncated"),
                Arguments.of("trailing bytes", b64.encodeToString(new byte[] {2, 0, 0, 0, 0, 0, 7}), "trailing bytes"),
                Arguments.of("unknown version", b64.encodeToString(new byte[] {9, 0, 0}), "version 9 is not supported"),
                Arguments.of("unknown form", b64.encodeToString(new byte[] {2, 5, 0}), "unknown form"),
                Arguments.of("set count beyond its bytes", b64.encodeToString(new byte[] {2, 0, 100, 0}), "out-of-range"),
                Arguments.of("unknown kind", b64.encodeToString(new byte[] {2, 0, 1, 7}), "unknown scope kind"),
                Arguments.of("bad scope id", b64.encodeToString(new byte[] {2, 0, 1, 1, 1, '{', 0, 0, 0}), "invalid scope id"),
                Arguments.of("scope twice", b64.encodeToString(new byte[] {2, 0, 2, 0, 0, 0, 0, 0}), "out of order or twice"),
                Arguments.of("scopes out of order", b64.encodeToString(new byte[] {2, 0, 2, 1, 1, '2', 1, 1, '1', 0, 0, 0}), "out of order"),
                Arguments.of("mark beyond the set", b64.encodeToString(new byte[] {2, 0, 1, 0, 0, 1, 1, 1, 0, 0}), "does not list"),
                Arguments.of("mark at the watermark", b64.encodeToString(new byte[] {2, 0, 1, 0, 0, 1, 0, 0, 0, 0}), "out-of-range"),
                Arguments.of("too many pending", b64.encodeToString(new byte[] {2, 0, 0, 0, 0, 33}), "out-of-range"),
                Arguments.of("overlong varint", b64.encodeToString(new byte[] {2, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1}), "number"),
                Arguments.of("v1 too many scopes", b64.encodeToString(new byte[] {1, 65}), "out-of-range"),
                Arguments.of("v1 scope twice", b64.encodeToString(new byte[] {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "names a scope twice"),
                Arguments.of("v1 mask beyond scopes", b64.encodeToString(new byte[] {1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2}), "does not list"),
                Arguments.of("v1 epoch beyond 32 bits", b64.encodeToString(new byte[] {1, 1, 0, -1, -1, -1, -1, 31, 0, 0, 0}), "out-of-range"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void garbage(String name, String text, String message) {
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> Cursor.decode(text));
        assertEquals("cursor", e.field());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void randomBytesNeverEscapeAsAnythingButInvalidCursorAndWhatDecodesIsInRange() {
        Random random = new Random(7);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        for (int round = 0; round < 50_000; round++) {
            byte[] bytes = new byte[random.nextInt(48)];
            random.nextBytes(bytes);
            if (bytes.length > 0 && random.nextBoolean()) {
                bytes[0] = (byte) (1 + random.nextInt(2));
                if (bytes.length > 1 && random.nextBoolean()) {
                    bytes[1] = (byte) random.nextInt(2);
                }
            }
            try {
                Cursor cursor = Cursor.decode(b64.encodeToString(bytes));
                assertTrue(cursor.watermark() <= Cursor.MAX_MILLIS);
                for (Cursor.Mark mark : cursor.marks()) {
                    assertTrue(mark.millis() <= Cursor.MAX_MILLIS && mark.sequence() <= Cursor.MAX_SEQUENCE, cursor.toString());
                }
            } catch (InvalidEventException expected) {
                assertEquals("cursor", expected.field());
            }
        }
    }
}

package io.alimi.hub;

import io.alimi.event.Cursor;
import io.alimi.event.InvalidEventException;
import io.alimi.event.Scope;
import io.alimi.timeline.StreamId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LedgerTest {

    private static final long NOW = 1_795_616_965_034L;

    private static List<Scope> scopes(int malls, int idLength) {
        List<Scope> scopes = new ArrayList<>(List.of(Scope.ALL, Scope.admin("100")));
        for (int m = 0; m < malls; m++) {
            String id = Integer.toString(m);
            scopes.add(Scope.mall(id + "0".repeat(Math.max(0, idLength - id.length()))));
        }
        return Cursor.sorted(scopes);
    }

    /** What a cursor says of scope i: its mark, else "everything through the watermark". */
    private static StreamId vouched(Cursor cursor, int i) {
        for (Cursor.Mark mark : cursor.marks()) {
            if (mark.index() == i) {
                return new StreamId(mark.millis(), mark.sequence());
            }
        }
        return new StreamId(cursor.watermark(), Cursor.MAX_SEQUENCE);
    }

    @Test
    void theCursorMarksExactlyTheScopesPositionedAfterTheWatermark() throws InvalidEventException {
        Ledger ledger = new Ledger(scopes(3, 2));
        for (int i = 0; i < ledger.size(); i++) {
            ledger.move(i, new StreamId(NOW - 10 * i, 0));
        }
        ledger.watermark(NOW - 15);
        Cursor cursor = Cursor.decode(ledger.cursor());
        assertEquals(NOW - 15, cursor.watermark());
        assertEquals(List.of(0, 1), cursor.marks().stream().map(Cursor.Mark::index).toList());
        assertEquals(new StreamId(NOW - 10, 0), vouched(cursor, 1));

        ledger.watermark(NOW);
        assertEquals(List.of(), Cursor.decode(ledger.cursor()).marks());
        // A watermark that falls (a Redis clock stepped back) marks again what is above it.
        ledger.watermark(NOW - 35);
        assertEquals(List.of(0, 1, 2, 3), Cursor.decode(ledger.cursor()).marks().stream().map(Cursor.Mark::index).toList());
    }

    @Test
    void randomMovesAndWatermarksAlwaysWriteACursorThatSaysExactlyWhereEachScopeIs() throws InvalidEventException {
        Random random = new Random(11);
        for (int round = 0; round < 200; round++) {
            int malls = random.nextInt(200);
            Ledger ledger = new Ledger(scopes(malls, 1 + random.nextInt(8)));
            long[] millis = new long[ledger.size()];
            long[] sequences = new long[ledger.size()];
            long watermark = NOW;
            ledger.watermark(watermark);
            for (int step = 0; step < 300; step++) {
                if (random.nextInt(10) == 0) {
                    watermark += random.nextInt(5) - 1;
                    ledger.watermark(watermark);
                } else {
                    int i = random.nextInt(ledger.size());
                    StreamId to = new StreamId(Math.max(millis[i], watermark - 3 + random.nextInt(8)), random.nextInt(3));
                    if (ledger.fits(i, to)) {
                        ledger.move(i, to);
                        millis[i] = to.millis();
                        sequences[i] = to.sequence();
                    }
                }
                Cursor cursor = Cursor.decode(ledger.cursor());
                assertTrue(ledger.cursor().length() <= Cursor.MAX_WRITTEN_LENGTH);
                for (int i = 0; i < ledger.size(); i++) {
                    StreamId at = new StreamId(millis[i], sequences[i]);
                    StreamId said = vouched(cursor, i);
                    if (millis[i] > watermark) {
                        assertEquals(at, said, "scope " + i + " in round " + round);
                    } else {
                        assertTrue(at.compareTo(said) <= 0 && said.millis() == watermark, "scope " + i + ": " + said);
                    }
                }
            }
        }
    }

    @Test
    void tenThousandScopesOfTheLongestIdsNeverWriteACursorBeyondTwoKibibytes() throws InvalidEventException {
        Ledger ledger = new Ledger(scopes(10_000, Scope.MAX_ID_LENGTH));
        assertTrue(ledger.storedSet());
        ledger.watermark(NOW);
        int marked = 0;
        for (int i = 0; i < ledger.size(); i++) {
            StreamId far = new StreamId(Cursor.MAX_MILLIS, Cursor.MAX_SEQUENCE);
            if (!ledger.fits(i, far)) {
                break;
            }
            ledger.move(i, far);
            marked++;
        }
        assertTrue(marked >= 30, marked + " marks, each as large as a mark can be");
        for (int p = 0; p < 100; p++) {
            assertTrue(ledger.expect(p * 7919L, new int[] {1, 2}));
        }
        String cursor = ledger.cursor();
        assertTrue(cursor.length() <= Cursor.MAX_WRITTEN_LENGTH, cursor.length() + " characters");
        assertEquals(marked, Cursor.decode(cursor).marks().size());
        assertEquals(Cursor.MAX_PENDING, Cursor.decode(cursor).pending().length);
        // Once the watermark passes them, the marks are gone and there is room again.
        ledger.watermark(Cursor.MAX_MILLIS);
        assertTrue(ledger.fits(marked, new StreamId(Cursor.MAX_MILLIS, 1)) || ledger.marked() == 0);
        assertEquals(0, ledger.marked());
    }

    @Test
    void marksAsTheyComeLiveFitByTheHundred() {
        Ledger ledger = new Ledger(scopes(10_000, 6));
        ledger.watermark(NOW);
        int marked = 0;
        while (ledger.fits(marked, new StreamId(NOW + 1 + marked % 50, marked % 3))) {
            ledger.move(marked, new StreamId(NOW + 1 + marked % 50, marked % 3));
            marked++;
        }
        assertTrue(marked >= 100, marked + " marks");
        assertTrue(ledger.cursor().length() <= Cursor.MAX_WRITTEN_LENGTH);
    }

    @Test
    void anEventIsHandedOutOnceAndEachOfItsOtherCopiesPassedOnce() {
        Ledger ledger = new Ledger(scopes(3, 1));
        assertFalse(ledger.passCopy(42, 1), "nothing handed out yet");
        assertTrue(ledger.expect(42, new int[] {1, 2}));
        assertTrue(ledger.passCopy(42, 1));
        assertTrue(ledger.isPending(42));
        assertTrue(ledger.passCopy(42, 2));
        assertFalse(ledger.isPending(42), "every copy passed: forgotten");
        assertFalse(ledger.passCopy(42, 2));
    }

    @Test
    void theNewestPendingEventsTravelInTheCursorAndTheLedgerRemembersABoundedNumber() throws InvalidEventException {
        Ledger ledger = new Ledger(scopes(3, 1));
        for (long hash = 0; hash < Ledger.MAX_PENDING; hash++) {
            assertTrue(ledger.expect(hash, new int[] {1}));
        }
        assertFalse(ledger.expect(Ledger.MAX_PENDING, new int[] {1}), "one more than it remembers");
        long[] newest = new long[Cursor.MAX_PENDING];
        for (int p = 0; p < newest.length; p++) {
            newest[p] = Ledger.MAX_PENDING - Cursor.MAX_PENDING + p;
        }
        assertArrayEquals(newest, Cursor.decode(ledger.cursor()).pending());
    }

    @Test
    void copiesACursorNamedWithoutSayingWhereAreAllPassedAndTravelOnlyWhileTheyMayStillCome()
            throws InvalidEventException {
        Ledger ledger = new Ledger(scopes(3, 1));
        ledger.watermark(NOW);
        ledger.adopt(77);
        assertTrue(ledger.passCopy(77, 0));
        assertTrue(ledger.passCopy(77, 3));
        assertTrue(ledger.isPending(77));
        assertArrayEquals(new long[] {77}, Cursor.decode(ledger.cursor()).pending());
        ledger.watermark(NOW + Ledger.UNKNOWN_COPIES_WINDOW_MILLIS + 1);
        assertEquals(0, Cursor.decode(ledger.cursor()).pending().length);
    }
}

package io.alimi.timeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamIdTest {

    @Test
    void parsesPrintsAndOrdersLikeRedis() {
        StreamId id = StreamId.parse("1732500000000-7");
        assertEquals(new StreamId(1732500000000L, 7), id);
        assertEquals("1732500000000-7", id.toString());
        assertTrue(StreamId.parse("9-0").compareTo(StreamId.parse("10-0")) < 0, "numeric, not lexical");
        assertTrue(StreamId.parse("10-2").compareTo(StreamId.parse("10-10")) < 0);
    }

    @Test
    void nextAndPreviousAreTheNeighboursInStreamOrder() {
        assertEquals(new StreamId(5, 1), new StreamId(5, 0).next());
        assertEquals(new StreamId(6, 0), new StreamId(5, Long.MAX_VALUE).next());
        assertEquals(new StreamId(4, Long.MAX_VALUE), new StreamId(5, 0).previous());
        assertEquals(StreamId.ZERO, StreamId.ZERO.previous());
    }

    @Test
    void refusesWhatIsNotAStreamId() {
        for (String bad : new String[] {"", "-", "1-", "-1", "a-b", "1-2-3", "12"}) {
            assertThrows(IllegalArgumentException.class, () -> StreamId.parse(bad), bad);
        }
    }
}

package io.alimi.timeline;

/**
 * A Redis stream entry id, {@code <milliseconds>-<sequence>}, ordered as Redis orders it.
 */
public record StreamId(long millis, long sequence) implements Comparable<StreamId> {

    /** Before every entry: reading after it reads from the start. */
    public static final StreamId ZERO = new StreamId(0, 0);

    public StreamId {
        if (millis < 0 || sequence < 0) {
            throw new IllegalArgumentException("stream ids are not negative");
        }
    }

    /**
     * Parses {@code 1732500000000-0}.
     *
     * @throws IllegalArgumentException if the text is not a stream id
     */
    public static StreamId parse(String text) {
        int dash = text.indexOf('-');
        if (dash <= 0 || dash == text.length() - 1) {
            throw new IllegalArgumentException("not a stream id: " + text);
        }
        try {
            return new StreamId(Long.parseLong(text, 0, dash, 10), Long.parseLong(text, dash + 1, text.length(), 10));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a stream id: " + text, e);
        }
    }

    /** The smallest id after this one: XRANGE from it is XRANGE after this one, exclusive. */
    public StreamId next() {
        return sequence == Long.MAX_VALUE ? new StreamId(millis + 1, 0) : new StreamId(millis, sequence + 1);
    }

    /** The largest id before this one, or ZERO. */
    public StreamId previous() {
        if (sequence > 0) {
            return new StreamId(millis, sequence - 1);
        }
        return millis == 0 ? ZERO : new StreamId(millis - 1, Long.MAX_VALUE);
    }

    @Override
    public int compareTo(StreamId other) {
        int byMillis = Long.compare(millis, other.millis);
        return byMillis != 0 ? byMillis : Long.compare(sequence, other.sequence);
    }

    @Override
    public String toString() {
        return millis + "-" + sequence;
    }
}

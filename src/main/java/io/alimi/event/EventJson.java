package io.alimi.event;

import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * The one JSON configuration for events: strict on input, one safe line on output.
 *
 * <p>Input: duplicate members are refused (two parsers could otherwise disagree on which {@code targets}
 * counts), nesting is bounded, numbers are kept exactly as sent. Output: never a raw line break of any kind,
 * U+2028 and U+2029 included, so a stored envelope is always one SSE {@code data:} line and one JavaScript
 * string-safe literal.
 */
public final class EventJson {

    /** Deeper documents are refused: a cheap stack-exhaustion guard; real events are a few levels deep. */
    public static final int MAX_NESTING_DEPTH = 32;

    private static final ObjectMapper MAPPER = JsonMapper.builder(
                    new JsonFactoryBuilder()
                            .streamReadConstraints(StreamReadConstraints.builder()
                                    .maxNestingDepth(MAX_NESTING_DEPTH)
                                    .build())
                            .characterEscapes(new LineSeparatorEscapes())
                            .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();

    private EventJson() {
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Escapes U+2028 and U+2029, which JSON allows raw but JavaScript and some line readers treat as line ends. */
    private static final class LineSeparatorEscapes extends CharacterEscapes {

        private static final SerializableString LS = new SerializedString("\\u2028");
        private static final SerializableString PS = new SerializedString("\\u2029");
        private final int[] ascii = standardAsciiEscapesForJSON();

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return switch (ch) {
                case 0x2028 -> LS;
                case 0x2029 -> PS;
                default -> null;
            };
        }
    }
}

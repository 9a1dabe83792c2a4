package io.alimi.event;

import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
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
                            // Not per thread: with a virtual thread per connection, thread-local buffers
                            // (16 KiB each) would stay with every idle connection.
                            .recyclerPool(JsonRecyclerPools.newConcurrentDequePool())
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

    /**
     * Writes a tree as one line of UTF-8 JSON with U+2028 and U+2029 escaped. Jackson writes them raw (JSON
     * allows it); they can only occur inside string literals, where the escape means the same.
     */
    public static byte[] writeLine(JsonNode node) {
        return escapeLineSeparators(bytes(node));
    }

    /** A tree as UTF-8 JSON; a tree in memory always serializes. */
    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree could not be written", e);
        }
    }

    /** U+2028 / U+2029 are E2 80 A8 / E2 80 A9 in UTF-8; each becomes the six ASCII bytes of its escape. */
    public static byte[] escapeLineSeparators(byte[] json) {
        int found = 0;
        for (int i = 0; i + 2 < json.length; i++) {
            if (json[i] == (byte) 0xE2 && json[i + 1] == (byte) 0x80 && (json[i + 2] == (byte) 0xA8 || json[i + 2] == (byte) 0xA9)) {
                found++;
            }
        }
        if (found == 0) {
            return json;
        }
        byte[] out = new byte[json.length + 3 * found];
        int o = 0;
        for (int i = 0; i < json.length; i++) {
            if (i + 2 < json.length && json[i] == (byte) 0xE2 && json[i + 1] == (byte) 0x80
                    && (json[i + 2] == (byte) 0xA8 || json[i + 2] == (byte) 0xA9)) {
                byte last = json[i + 2] == (byte) 0xA8 ? (byte) '8' : (byte) '9';
                for (byte b : new byte[] {'\\', 'u', '2', '0', '2', last}) {
                    out[o++] = b;
                }
                i += 2;
            } else {
                out[o++] = json[i];
            }
        }
        return out;
    }
}

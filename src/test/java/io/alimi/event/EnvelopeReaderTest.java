package io.alimi.event;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EnvelopeReaderTest {

    private static final EnvelopeReader READER = new EnvelopeReader(EnvelopeLimits.DEFAULTS);
    private static final String BASE = "\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/orders\",\"type\":\"order.created\"";

    private static String event(String members) {
        return "{" + BASE + (members.isEmpty() ? "" : "," + members) + "}";
    }

    private static Envelope read(String json) throws InvalidEventException {
        return READER.read(json.getBytes(StandardCharsets.UTF_8));
    }

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("minimal", event("\"targets\":\"all\"")),
                Arguments.of("every scope kind", event("\"targets\":\"all,mall:1,admin:42,partner:p-7_X\"")),
                Arguments.of("spaces around scopes", event("\"targets\":\" mall:1 , admin:42 \"")),
                Arguments.of("64-character id in a scope", event("\"targets\":\"mall:" + "a".repeat(64) + "\"")),
                Arguments.of("time with offset", event("\"targets\":\"all\",\"time\":\"2026-11-25T09:30:00+09:00\"")),
                Arguments.of("time in UTC with fraction", event("\"targets\":\"all\",\"time\":\"2026-11-25T00:30:00.123Z\"")),
                Arguments.of("subject", event("\"targets\":\"all\",\"subject\":\"order/1\"")),
                Arguments.of("json data", event("\"targets\":\"all\",\"datacontenttype\":\"application/json\",\"data\":{\"a\":1}")),
                Arguments.of("+json data type", event("\"targets\":\"all\",\"datacontenttype\":\"application/vnd.x+json; charset=utf-8\",\"data\":{}")),
                Arguments.of("null data", event("\"targets\":\"all\",\"data\":null")),
                Arguments.of("push as string", event("\"targets\":\"all\",\"push\":\"true\"")),
                Arguments.of("push as boolean", event("\"targets\":\"all\",\"push\":false")),
                Arguments.of("unknown extension kept", event("\"targets\":\"all\",\"tenant\":{\"x\":[1,2]}")),
                Arguments.of("urn source", "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"urn:shop:orders\",\"type\":\"t\",\"targets\":\"all\"}"),
                Arguments.of("128-character id", "{\"specversion\":\"1.0\",\"id\":\"" + "i".repeat(128) + "\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}"),
                Arguments.of("32 targets", event("\"targets\":\"" + scopes(32) + "\"")),
                Arguments.of("data of exactly 64 KiB", event("\"targets\":\"all\",\"data\":" + dataOfBytes(64 * 1024))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void accepted(String name, String json) throws InvalidEventException {
        Envelope envelope = read(json);
        assertFalse(envelope.targets().isEmpty());
    }

    static Stream<Arguments> rejected() {
        return Stream.of(
                Arguments.of("not JSON", "{\"specversion\":", "event", "not valid JSON"),
                Arguments.of("trailing garbage", event("\"targets\":\"all\"") + "x", "event", "not valid JSON"),
                Arguments.of("empty body", "", "event", "empty"),
                Arguments.of("an array", "[]", "event", "must be a JSON object, got an array"),
                Arguments.of("a string", "\"hi\"", "event", "must be a JSON object, got a string"),
                Arguments.of("duplicate member", "{\"targets\":\"mall:1\",\"targets\":\"all\"}", "event", "Duplicate field 'targets'"),
                Arguments.of("too deep", "{\"a\":" + "[".repeat(40) + "]".repeat(40) + "}", "event", "nesting depth"),
                Arguments.of("missing specversion", "{\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "specversion", "required"),
                Arguments.of("old specversion", "{\"specversion\":\"0.3\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "specversion", "'0.3' is not supported"),
                Arguments.of("numeric specversion", "{\"specversion\":1.0,\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "specversion", "must be a string, got a number"),
                Arguments.of("missing id", "{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "id", "required"),
                Arguments.of("empty id", "{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "id", "must not be empty"),
                Arguments.of("numeric id", "{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "id", "must be a string, got a number"),
                Arguments.of("129-character id", "{\"specversion\":\"1.0\",\"id\":\"" + "i".repeat(129) + "\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "id", "129 characters exceed the limit of 128"),
                Arguments.of("id with a newline", "{\"specversion\":\"1.0\",\"id\":\"a\\nb\",\"source\":\"/s\",\"type\":\"t\",\"targets\":\"all\"}", "id", "control characters"),
                Arguments.of("missing source", "{\"specversion\":\"1.0\",\"id\":\"e\",\"type\":\"t\",\"targets\":\"all\"}", "source", "required"),
                Arguments.of("source with space", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"a b\",\"type\":\"t\",\"targets\":\"all\"}", "source", "not a URI-reference"),
                Arguments.of("missing type", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"targets\":\"all\"}", "type", "required"),
                Arguments.of("type with CR LF", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\\r\\ndata: x\",\"targets\":\"all\"}", "type", "printable ASCII"),
                Arguments.of("type with space", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"order created\",\"targets\":\"all\"}", "type", "printable ASCII"),
                Arguments.of("type too long", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"" + "t".repeat(257) + "\",\"targets\":\"all\"}", "type", "1 to 256"),
                Arguments.of("reserved type gap", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"gap\",\"targets\":\"all\"}", "type", "'gap' is reserved"),
                Arguments.of("reserved type reconnect", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"reconnect\",\"targets\":\"all\"}", "type", "is reserved"),
                Arguments.of("reserved alimi. prefix", "{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"alimi.x\",\"targets\":\"all\"}", "type", "is reserved"),
                Arguments.of("missing targets", event(""), "targets", "required"),
                Arguments.of("targets as array", event("\"targets\":[\"all\"]"), "targets", "must be a string of comma-separated scopes, got an array"),
                Arguments.of("empty targets", event("\"targets\":\"\""), "targets", "scope 1 is empty"),
                Arguments.of("empty scope in list", event("\"targets\":\"mall:1,,admin:2\""), "targets", "scope 2 is empty"),
                Arguments.of("trailing comma", event("\"targets\":\"mall:1,\""), "targets", "scope 2 is empty"),
                Arguments.of("unknown kind", event("\"targets\":\"shop:1\""), "targets", "unknown scope kind 'shop'"),
                Arguments.of("scope without id", event("\"targets\":\"mall:\""), "targets", "'mall:' has an invalid id"),
                Arguments.of("scope without colon", event("\"targets\":\"mall\""), "targets", "'mall' is not a scope"),
                Arguments.of("all with id", event("\"targets\":\"all:1\""), "targets", "unknown scope kind 'all'"),
                Arguments.of("brace in id", event("\"targets\":\"mall:{1}\""), "targets", "invalid id"),
                Arguments.of("65-character scope id", event("\"targets\":\"mall:" + "a".repeat(65) + "\""), "targets", "invalid id"),
                Arguments.of("33 targets", event("\"targets\":\"" + scopes(33) + "\""), "targets", "more than 32 scopes"),
                Arguments.of("bad time", event("\"targets\":\"all\",\"time\":\"yesterday\""), "time", "not an RFC 3339 timestamp"),
                Arguments.of("time without offset", event("\"targets\":\"all\",\"time\":\"2026-11-25T09:30:00\""), "time", "not an RFC 3339 timestamp"),
                Arguments.of("empty subject", event("\"targets\":\"all\",\"subject\":\"\""), "subject", "must not be empty"),
                Arguments.of("data as array", event("\"targets\":\"all\",\"data\":[1]"), "data", "must be a JSON object, got an array"),
                Arguments.of("data as string", event("\"targets\":\"all\",\"data\":\"x\""), "data", "must be a JSON object, got a string"),
                Arguments.of("binary data", event("\"targets\":\"all\",\"data_base64\":\"AAAA\""), "data_base64", "not supported"),
                Arguments.of("non-JSON content type", event("\"targets\":\"all\",\"datacontenttype\":\"text/plain\",\"data\":{}"), "datacontenttype", "does not describe JSON"),
                Arguments.of("push yes", event("\"targets\":\"all\",\"push\":\"yes\""), "push", "must be \"true\" or \"false\""),
                Arguments.of("push number", event("\"targets\":\"all\",\"push\":1"), "push", "must be \"true\" or \"false\""),
                Arguments.of("data one byte over 64 KiB", event("\"targets\":\"all\",\"data\":" + dataOfBytes(64 * 1024 + 1)), "data", "65,537 bytes exceed the limit of 65,536"),
                Arguments.of("huge extension", event("\"targets\":\"all\",\"note\":\"" + "n".repeat(80 * 1024) + "\""), "event", "exceed the limit of 73,728"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void rejected(String name, String json, String field, String rule) {
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> read(json));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.rule().contains(rule), "expected '" + rule + "' in: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void keepsEveryMemberInOrderAndNumbersExactly() throws InvalidEventException {
        String json = "{\"zeta\":1,\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/orders\",\"type\":\"order.created\","
                + "\"targets\":\"mall:1\",\"data\":{\"price\":12345678901234567890.10,\"big\":123456789012345678901234567890}}";
        assertEquals(json, read(json).jsonText());
    }

    @Test
    void theStoredJsonHasNoRawLineBreakOfAnyKind() throws InvalidEventException {
        String json = event("\"targets\":\"all\",\"subject\":\"a\\r\\nb\\u2028c\\u2029d\",\"data\":{\"k\\n\":\"v\\r\"},\"x\":\"\u2028\"");
        String stored = read(json).jsonText();
        for (char c : new char[] {'\n', '\r', '\u2028', '\u2029'}) {
            assertEquals(-1, stored.indexOf(c), "raw " + (int) c + " in " + stored);
        }
        assertTrue(stored.contains("\\u2028") && stored.contains("\\u2029"), stored);
    }

    @Test
    void duplicateTargetsAreCountedOnce() throws InvalidEventException {
        Envelope envelope = read(event("\"targets\":\"mall:1,admin:2,mall:1\""));
        assertEquals(List.of(Scope.mall("1"), Scope.admin("2")), envelope.targets());
    }

    @Test
    void readsTheParsedFields() throws InvalidEventException {
        Envelope envelope = read(event("\"targets\":\"mall:1\",\"push\":\"true\""));
        assertEquals("e-1", envelope.id());
        assertEquals("/orders", envelope.source());
        assertEquals("order.created", envelope.type());
        assertTrue(envelope.push());
    }

    @Test
    void smallerLimitsAreEnforced() {
        EnvelopeReader strict = new EnvelopeReader(new EnvelopeLimits(16, 1024, 2, 4));
        assertThrows(InvalidEventException.class, () -> strict.read(event("\"targets\":\"mall:1,mall:2,mall:3\"").getBytes(StandardCharsets.UTF_8)));
        assertThrows(InvalidEventException.class, () -> strict.read(event("\"targets\":\"all\",\"data\":{\"long\":\"0123456789\"}").getBytes(StandardCharsets.UTF_8)));
        InvalidEventException id = assertThrows(InvalidEventException.class, () -> strict.read(event("\"targets\":\"all\"").replace("e-1", "e-123").getBytes(StandardCharsets.UTF_8)));
        assertEquals("id: 5 characters exceed the limit of 4", id.getMessage());
    }

    @Test
    void errorMessagesDoNotEchoControlCharactersOrUnboundedInput() {
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> read(event("\"targets\":\"mall\\r\\nX-Injected: 1" + "z".repeat(500) + "\"")));
        assertFalse(e.getMessage().contains("\r") || e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().length() < 300, e.getMessage());
    }

    // Kafka binary mode

    private static List<Map.Entry<String, byte[]>> headers(String... pairs) {
        List<Map.Entry<String, byte[]>> headers = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            headers.add(Map.entry(pairs[i], pairs[i + 1].getBytes(StandardCharsets.UTF_8)));
        }
        return headers;
    }

    @Test
    void binaryModeTakesAttributesFromHeadersAndDataFromTheValue() throws InvalidEventException {
        Envelope envelope = READER.readKafka(headers(
                        "ce_specversion", "1.0", "ce_id", "k-1", "ce_source", "/orders", "ce_type", "order.created",
                        "ce_targets", "mall:1,admin:9", "ce_push", "true", "ce_tenant", "t1", "content-type", "application/json",
                        "traceparent", "00-abc"),
                "{\"orderNo\":\"A-1\"}".getBytes(StandardCharsets.UTF_8));

        assertEquals("k-1", envelope.id());
        assertEquals(List.of(Scope.mall("1"), Scope.admin("9")), envelope.targets());
        assertTrue(envelope.push());
        assertEquals("{\"specversion\":\"1.0\",\"id\":\"k-1\",\"source\":\"/orders\",\"type\":\"order.created\","
                + "\"targets\":\"mall:1,admin:9\",\"push\":\"true\",\"tenant\":\"t1\",\"datacontenttype\":\"application/json\","
                + "\"data\":{\"orderNo\":\"A-1\"}}", envelope.jsonText());
    }

    @Test
    void binaryModeWithoutValueHasNoData() throws InvalidEventException {
        Envelope envelope = READER.readKafka(headers("ce_specversion", "1.0", "ce_id", "k-1", "ce_source", "/s",
                "ce_type", "t", "ce_targets", "all"), null);
        assertFalse(envelope.jsonText().contains("data"));
    }

    @Test
    void kafkaStructuredModeIsTheValue() throws InvalidEventException {
        String json = event("\"targets\":\"all\"");
        Envelope envelope = READER.readKafka(headers("content-type", "application/cloudevents+json; charset=UTF-8"),
                json.getBytes(StandardCharsets.UTF_8));
        assertEquals(json, envelope.jsonText());
        Envelope plain = READER.readKafka(List.of(), json.getBytes(StandardCharsets.UTF_8));
        assertEquals(json, plain.jsonText());
    }

    static Stream<Arguments> binaryRejected() {
        byte[] badUtf8 = {(byte) 0xC3, (byte) 0x28};
        return Stream.of(
                Arguments.of("missing targets header", headers("ce_specversion", "1.0", "ce_id", "k", "ce_source", "/s", "ce_type", "t"), "{}".getBytes(StandardCharsets.UTF_8), "targets"),
                Arguments.of("value not JSON", headers("ce_specversion", "1.0", "ce_id", "k", "ce_source", "/s", "ce_type", "t", "ce_targets", "all"), "oops".getBytes(StandardCharsets.UTF_8), "data"),
                Arguments.of("value is an array", headers("ce_specversion", "1.0", "ce_id", "k", "ce_source", "/s", "ce_type", "t", "ce_targets", "all"), "[1]".getBytes(StandardCharsets.UTF_8), "data"),
                Arguments.of("repeated header", headers("ce_specversion", "1.0", "ce_id", "k", "ce_id", "j", "ce_source", "/s", "ce_type", "t", "ce_targets", "all"), null, "header ce_id"),
                Arguments.of("ce_data header", headers("ce_specversion", "1.0", "ce_id", "k", "ce_source", "/s", "ce_type", "t", "ce_targets", "all", "ce_data", "x"), null, "header ce_data"),
                Arguments.of("invalid UTF-8 header", List.of(Map.entry("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8)), Map.entry("ce_id", badUtf8)), null, "header ce_id"),
                Arguments.of("structured with empty value", headers("content-type", "application/cloudevents+json"), new byte[0], "value"),
                Arguments.of("no headers and no value", List.<Map.Entry<String, byte[]>>of(), null, "value"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void binaryRejected(String name, List<Map.Entry<String, byte[]>> headers, byte[] value, String field) {
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> READER.readKafka(headers, value));
        assertEquals(field, e.field(), e.getMessage());
    }

    private static String scopes(int n) {
        List<String> scopes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            scopes.add("mall:" + i);
        }
        return String.join(",", scopes);
    }

    /** A data object whose JSON is exactly {@code bytes} long. */
    private static String dataOfBytes(int bytes) {
        String wrapper = "{\"pad\":\"\"}";
        return "{\"pad\":\"" + "x".repeat(bytes - wrapper.length()) + "\"}";
    }
}

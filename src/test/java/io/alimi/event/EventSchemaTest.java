package io.alimi.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The published JSON Schema (schema/alimi-event.schema.json) agrees with the reader on every table case it can express. */
class EventSchemaTest {

    /** Rules a JSON Schema cannot state: JSON syntax, duplicate members, nesting depth, byte sizes, distinct-target count. */
    private static final Set<String> BEYOND_SCHEMA = Set.of("not JSON", "trailing garbage", "empty body", "duplicate member",
            "too deep", "33 targets", "data one byte over 64 KiB", "huge extension");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static JsonSchema schema;

    @BeforeAll
    static void load() throws IOException {
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(Files.readString(Path.of("schema/alimi-event.schema.json")), config);
    }

    static Stream<Arguments> accepted() {
        return EnvelopeReaderTest.accepted();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void accepted(String name, String json) throws IOException {
        Set<ValidationMessage> errors = schema.validate(JSON.readTree(json));
        assertTrue(errors.isEmpty(), errors.toString());
    }

    static Stream<Arguments> rejected() {
        return EnvelopeReaderTest.rejected().filter(args -> !BEYOND_SCHEMA.contains((String) args.get()[0]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void rejected(String name, String json, String field, String rule) throws IOException {
        JsonNode node = JSON.readTree(json);
        assertFalse(schema.validate(node).isEmpty(), "the schema accepts what the reader refuses (" + field + ": " + rule + ")");
    }
}

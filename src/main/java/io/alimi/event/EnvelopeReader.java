package io.alimi.event;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns what producers send into {@link Envelope}s, or says exactly which rule they break.
 *
 * <p>Accepted forms: CloudEvents 1.0 structured JSON, and the Kafka binary mode ({@code ce_*} headers,
 * {@code content-type}, value = data). Unknown members and extensions are kept untouched. Thread-safe.
 */
public final class EnvelopeReader {

    private static final int MAX_TYPE_LENGTH = 256;
    /**
     * Names of the control messages Alimi itself sends on a stream (SSE {@code event:} names): a producer must not
     * be able to make every browser reconnect or think it lost events.
     */
    public static final Set<String> RESERVED_TYPES = Set.of("ready", "gap", "reconnect", "reauth", "unread", "heartbeat");
    private static final String CE_PREFIX = "ce_";
    private static final Set<String> STRING_ATTRIBUTES =
            Set.of("id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time");

    private final EnvelopeLimits limits;

    public EnvelopeReader(EnvelopeLimits limits) {
        this.limits = limits;
    }

    public EnvelopeLimits limits() {
        return limits;
    }

    /** Parses bytes as JSON with the event rules (strict, bounded), naming the position of a syntax error. */
    public static JsonNode parseJson(byte[] json, String what) throws InvalidEventException {
        if (json == null || json.length == 0) {
            throw new InvalidEventException(what, "empty");
        }
        try {
            return EventJson.mapper().readTree(json);
        } catch (JacksonException e) {
            throw new InvalidEventException(what, "not valid JSON: " + describe(e));
        } catch (IOException e) {
            throw new InvalidEventException(what, "cannot be read: " + e.getMessage());
        }
    }

    /** A structured-mode event: one JSON object. */
    public Envelope read(byte[] json) throws InvalidEventException {
        return read(parseJson(json, "event"));
    }

    /** A structured-mode event already parsed, e.g. one element of a batch. */
    public Envelope read(JsonNode node) throws InvalidEventException {
        if (!(node instanceof ObjectNode event)) {
            throw new InvalidEventException("event", "must be a JSON object, got " + kind(node));
        }
        return validate(event);
    }

    /**
     * A Kafka record. Structured mode when {@code content-type} is {@code application/cloudevents…} or there is
     * no {@code ce_specversion} header; binary mode otherwise.
     *
     * @param headers the record's headers in order (name, raw value)
     * @param value   the record's value; may be null
     */
    public Envelope readKafka(List<Map.Entry<String, byte[]>> headers, byte[] value) throws InvalidEventException {
        String contentType = null;
        boolean binary = false;
        for (Map.Entry<String, byte[]> header : headers) {
            if (header.getKey().equalsIgnoreCase("content-type")) {
                contentType = utf8(header.getKey(), header.getValue());
            } else if (header.getKey().equals("ce_specversion")) {
                binary = true;
            }
        }
        if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/cloudevents")) {
            binary = false;
        }
        if (!binary) {
            if (value == null || value.length == 0) {
                throw new InvalidEventException("value", "empty; expected a CloudEvent as JSON or ce_* headers");
            }
            return read(value);
        }
        return validate(fromBinary(headers, contentType, value));
    }

    private ObjectNode fromBinary(List<Map.Entry<String, byte[]>> headers, String contentType, byte[] value)
            throws InvalidEventException {
        ObjectNode event = EventJson.mapper().createObjectNode();
        for (Map.Entry<String, byte[]> header : headers) {
            String name = header.getKey();
            if (!name.startsWith(CE_PREFIX)) {
                continue;
            }
            String attribute = name.substring(CE_PREFIX.length());
            if (attribute.isEmpty() || attribute.equals("data") || attribute.equals("data_base64")) {
                throw new InvalidEventException("header " + Text.quote(name), "is not a CloudEvents attribute");
            }
            if (event.has(attribute)) {
                throw new InvalidEventException("header " + Text.quote(name), "appears more than once");
            }
            event.put(attribute, utf8(name, header.getValue()));
        }
        if (contentType != null) {
            event.put("datacontenttype", contentType);
        }
        if (value != null && value.length > 0) {
            JsonNode data = parseJson(value, "data");
            event.set("data", data);
        }
        return event;
    }

    private Envelope validate(ObjectNode event) throws InvalidEventException {
        for (String name : STRING_ATTRIBUTES) {
            JsonNode member = event.get(name);
            if (member != null && !member.isTextual()) {
                throw new InvalidEventException(name, "must be a string, got " + kind(member));
            }
        }
        String specversion = required(event, "specversion");
        if (!specversion.equals("1.0")) {
            throw new InvalidEventException("specversion", "'" + Text.quote(specversion) + "' is not supported; use \"1.0\"");
        }
        String id = required(event, "id");
        if (id.length() > limits.maxIdLength()) {
            throw new InvalidEventException("id", Text.count(id.length()) + " characters exceed the limit of "
                    + Text.count(limits.maxIdLength()));
        }
        if (hasControl(id)) {
            throw new InvalidEventException("id", "must not contain control characters");
        }
        String source = required(event, "source");
        if (!isUriReference(source)) {
            throw new InvalidEventException("source", "'" + Text.quote(source) + "' is not a URI-reference");
        }
        String type = required(event, "type");
        if (!isPrintableAscii(type) || type.length() > MAX_TYPE_LENGTH) {
            throw new InvalidEventException("type", "must be 1 to " + MAX_TYPE_LENGTH
                    + " printable ASCII characters without spaces, e.g. order.created");
        }
        if (RESERVED_TYPES.contains(type) || type.startsWith("alimi.")) {
            throw new InvalidEventException("type", "'" + type + "' is reserved for Alimi's own stream messages");
        }
        List<Scope> targets = targets(event);
        boolean push = push(event.get("push"));
        optional(event, "subject");
        String time = optional(event, "time");
        if (time != null && !Rfc3339.isTimestamp(time)) {
            throw new InvalidEventException("time", "'" + Text.quote(time)
                    + "' is not an RFC 3339 timestamp like 2026-11-25T09:30:00Z");
        }
        String dataschema = optional(event, "dataschema");
        if (dataschema != null && !isUriReference(dataschema)) {
            throw new InvalidEventException("dataschema", "'" + Text.quote(dataschema) + "' is not a URI");
        }
        if (event.has("data_base64")) {
            throw new InvalidEventException("data_base64", "binary data is not supported; send data as a JSON object");
        }
        JsonNode data = event.get("data");
        if (data != null && !data.isNull()) {
            if (!data.isObject()) {
                throw new InvalidEventException("data", "must be a JSON object, got " + kind(data));
            }
            String contentType = optional(event, "datacontenttype");
            if (contentType != null && !isJsonMediaType(contentType)) {
                throw new InvalidEventException("datacontenttype", "'" + Text.quote(contentType)
                        + "' does not describe JSON; data must be a JSON object (application/json)");
            }
        }
        byte[] json = EventJson.writeLine(event);
        int eventBytes = json.length;
        if (eventBytes > limits.maxDataBytes() && data != null) {
            int dataBytes = EventJson.writeLine(data).length;
            if (dataBytes > limits.maxDataBytes()) {
                throw new InvalidEventException("data", Text.count(dataBytes) + " bytes exceed the limit of "
                        + Text.count(limits.maxDataBytes()));
            }
        }
        if (eventBytes > limits.maxEventBytes()) {
            throw new InvalidEventException("event", Text.count(eventBytes) + " bytes exceed the limit of "
                    + Text.count(limits.maxEventBytes()));
        }
        return new Envelope(id, source, type, targets, push, json);
    }

    private List<Scope> targets(ObjectNode event) throws InvalidEventException {
        JsonNode member = event.get("targets");
        if (member == null || member.isNull()) {
            throw new InvalidEventException("targets", "required: a comma-separated list of scopes, e.g. \"mall:1,admin:42\"");
        }
        if (!member.isTextual()) {
            throw new InvalidEventException("targets", "must be a string of comma-separated scopes, got " + kind(member));
        }
        String text = member.textValue();
        Set<Scope> scopes = new LinkedHashSet<>();
        int position = 0;
        int start = 0;
        while (start <= text.length()) {
            int comma = text.indexOf(',', start);
            int end = comma < 0 ? text.length() : comma;
            String item = text.substring(start, end).strip();
            position++;
            if (item.isEmpty()) {
                throw new InvalidEventException("targets", "scope " + position + " is empty");
            }
            try {
                scopes.add(Scope.parse(item));
            } catch (IllegalArgumentException e) {
                throw new InvalidEventException("targets", e.getMessage());
            }
            if (scopes.size() > limits.maxTargets()) {
                throw new InvalidEventException("targets", "more than " + limits.maxTargets() + " scopes");
            }
            start = end + 1;
        }
        return new ArrayList<>(scopes);
    }

    private static boolean push(JsonNode member) throws InvalidEventException {
        if (member == null || member.isNull()) {
            return false;
        }
        if (member.isBoolean()) {
            return member.booleanValue();
        }
        if (member.isTextual()) {
            switch (member.textValue()) {
                case "true":
                    return true;
                case "false":
                    return false;
                default:
                    break;
            }
        }
        throw new InvalidEventException("push", "must be \"true\" or \"false\"");
    }

    private static String required(ObjectNode event, String name) throws InvalidEventException {
        JsonNode member = event.get(name);
        if (member == null || member.isNull()) {
            throw new InvalidEventException(name, "required");
        }
        String value = member.textValue();
        if (value.isEmpty()) {
            throw new InvalidEventException(name, "must not be empty");
        }
        return value;
    }

    private static String optional(ObjectNode event, String name) throws InvalidEventException {
        JsonNode member = event.get(name);
        if (member == null || member.isNull()) {
            return null;
        }
        String value = member.textValue();
        if (value.isEmpty()) {
            throw new InvalidEventException(name, "must not be empty when present");
        }
        return value;
    }

    private static boolean isUriReference(String text) {
        if (hasControl(text) || text.chars().anyMatch(Character::isWhitespace)) {
            return false;
        }
        try {
            new URI(text);
            return true;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    private static boolean isJsonMediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        String base = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
        return base.equals("application/json") || base.equals("text/json") || base.endsWith("+json");
    }

    private static boolean isPrintableAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return !text.isEmpty();
    }

    private static boolean hasControl(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Text.isControl(text.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    private static String utf8(String header, byte[] value) throws InvalidEventException {
        if (value == null) {
            throw new InvalidEventException("header " + Text.quote(header), "has no value");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidEventException("header " + Text.quote(header), "is not valid UTF-8");
        }
    }

    private static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static String describe(JacksonException e) {
        String message = e.getOriginalMessage();
        int cut = message.indexOf('\n');
        if (cut > 0) {
            message = message.substring(0, cut);
        }
        JsonLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 0 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        return Text.quote(message, 200) + where;
    }
}

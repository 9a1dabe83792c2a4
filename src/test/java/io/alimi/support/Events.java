package io.alimi.support;

import io.alimi.event.Envelope;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.InvalidEventException;

import java.nio.charset.StandardCharsets;

/** Valid events for tests, built through the production reader. */
public final class Events {

    private static final EnvelopeReader READER = new EnvelopeReader(EnvelopeLimits.DEFAULTS);

    private Events() {
    }

    /** The structured JSON of an {@code order.created} event for {@code targets} with {@code data}. */
    public static String json(String id, String targets, String data) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/orders\",\"type\":\"order.created\","
                + "\"targets\":\"" + targets + "\",\"data\":" + data + "}";
    }

    /** The same from another producer: {@code source} instead of {@code /orders}. */
    public static String json(String source, String id, String targets, String data) {
        return json(id, targets, data).replace("\"source\":\"/orders\"", "\"source\":\"" + source + "\"");
    }

    public static Envelope envelope(String source, String id, String targets) {
        return read(json(source, id, targets, "{\"orderNo\":\"" + id + "\"}"));
    }

    public static String json(String id, String targets) {
        return json(id, targets, "{\"orderNo\":\"" + id + "\"}");
    }

    public static Envelope envelope(String id, String targets) {
        return read(json(id, targets));
    }

    public static Envelope read(String json) {
        try {
            return READER.read(json.getBytes(StandardCharsets.UTF_8));
        } catch (InvalidEventException e) {
            throw new AssertionError("test event is invalid: " + e.getMessage(), e);
        }
    }
}

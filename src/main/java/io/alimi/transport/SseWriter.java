package io.alimi.transport;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.alimi.hub.Item;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes the {@code text/event-stream} format. Nothing a producer sent can add a field or an event: ids are
 * base64url cursors, event names are printable ASCII without spaces (checked when stored and again when read),
 * data is one line of JSON with every line break escaped.
 */
final class SseWriter {

    private static final byte[] ID = ascii("id: ");
    private static final byte[] EVENT = ascii("\nevent: ");
    private static final byte[] DATA = ascii("\ndata: ");
    private static final byte[] END = ascii("\n\n");
    private static final byte[] HEARTBEAT = ascii(": keep-alive\n\n");

    private final OutputStream out;

    SseWriter(OutputStream out) {
        this.out = out;
    }

    /** Sets the client's reconnection delay. */
    void retry(long millis) throws IOException {
        out.write(ascii("retry: " + millis + "\n\n"));
    }

    void items(List<Item> items) throws IOException {
        for (Item item : items) {
            switch (item) {
                case Item.Event event -> event(item.cursor(), event.event().type(), event.event().json());
                case Item.Ready ready -> event(item.cursor(), "ready", EventJson.bytes(Frames.ready(ready)));
                case Item.Gap gap -> event(item.cursor(), "gap", EventJson.bytes(Frames.gap(gap)));
                case Item.Advance advance -> {
                    // An id with no data moves the client's Last-Event-ID without firing an event (HTML SSE spec).
                    out.write(ID);
                    out.write(ascii(advance.cursor()));
                    out.write(END);
                }
            }
        }
    }

    /** Tells the client to reconnect (to any node) after {@code retryMillis}, from {@code cursor}. */
    void reconnect(String reason, String cursor, long retryMillis) throws IOException {
        retry(retryMillis);
        ObjectNode body = Frames.reconnect(reason, cursor);
        event(cursor, "reconnect", EventJson.bytes(body));
    }

    void heartbeat() throws IOException {
        out.write(HEARTBEAT);
    }

    void flush() throws IOException {
        out.flush();
    }

    private void event(String cursor, String type, byte[] json) throws IOException {
        out.write(ID);
        out.write(ascii(cursor));
        out.write(EVENT);
        out.write(ascii(type));
        out.write(DATA);
        out.write(json);
        out.write(END);
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}

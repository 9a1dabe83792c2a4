package io.alimi.transport;

import io.alimi.event.EventJson;
import io.alimi.hub.Item;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Writes the {@code text/event-stream} format. Nothing a producer sent can add a field or an event: ids are
 * base64url cursors, event names are printable ASCII without spaces (checked when stored and again when read),
 * data is one line of JSON with every line break escaped.
 *
 * <p>Messages are gathered in a buffer that lives only until {@link #flush()}, which hands them to the response
 * in one write: one chunk, one system call, and no buffer kept by an idle connection. This is the hot path of a
 * broadcast (once per connection per event), so it copies each byte once and allocates one array.
 */
final class SseWriter {

    private static final byte[] ID = ascii("id: ");
    private static final byte[] EVENT = ascii("\nevent: ");
    private static final byte[] DATA = ascii("\ndata: ");
    private static final byte[] END = ascii("\n\n");
    private static final byte[] HEARTBEAT = ascii(": keep-alive\n\n");
    private static final byte[] RETRY = ascii("retry: ");

    private final OutputStream response;
    /** Only while there is something to write: an idle connection keeps no buffer. */
    private byte[] buffer;
    private int length;

    SseWriter(OutputStream response) {
        this.response = response;
    }

    /** Sets the client's reconnection delay. */
    void retry(long millis) {
        String value = Long.toString(millis);
        reserve(RETRY.length + value.length() + END.length);
        put(RETRY);
        putAscii(value);
        put(END);
    }

    void items(List<Item> items) {
        for (Item item : items) {
            switch (item) {
                case Item.Event event -> event(item.cursor(), event.event().type(), event.event().json());
                case Item.Ready ready -> event(item.cursor(), "ready", EventJson.bytes(Frames.ready(ready)));
                case Item.Gap gap -> event(item.cursor(), "gap", EventJson.bytes(Frames.gap(gap)));
                case Item.Unread unread -> event(item.cursor(), "unread", EventJson.bytes(Frames.unread(unread)));
                case Item.Advance advance -> {
                    // An id with no data moves the client's Last-Event-ID without firing an event (HTML SSE spec).
                    reserve(ID.length + advance.cursor().length() + END.length);
                    put(ID);
                    putAscii(advance.cursor());
                    put(END);
                }
            }
        }
    }

    /** Tells the client to reconnect (to any node) after {@code retryMillis}, from {@code cursor}. */
    void reconnect(String reason, String cursor, long retryMillis) {
        retry(retryMillis);
        event(cursor, "reconnect", EventJson.bytes(Frames.reconnect(reason, cursor)));
    }

    void heartbeat() {
        reserve(HEARTBEAT.length);
        put(HEARTBEAT);
    }

    void flush() throws IOException {
        if (length > 0) {
            response.write(buffer, 0, length);
        }
        response.flush();
        buffer = null;
        length = 0;
    }

    private void event(String cursor, String type, byte[] json) {
        reserve(ID.length + cursor.length() + EVENT.length + type.length() + DATA.length + json.length + END.length);
        put(ID);
        putAscii(cursor);
        put(EVENT);
        putAscii(type);
        put(DATA);
        put(json);
        put(END);
    }

    private void reserve(int bytes) {
        if (buffer == null) {
            buffer = new byte[Math.max(bytes, 256)];
        } else if (length + bytes > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + bytes));
        }
    }

    private void put(byte[] bytes) {
        System.arraycopy(bytes, 0, buffer, length, bytes.length);
        length += bytes.length;
    }

    /** Cursors and event types are ASCII by construction: one byte per char. */
    private void putAscii(String text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            buffer[length++] = (byte) text.charAt(i);
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}

package io.alimi.transport;

import io.alimi.event.EnvelopeReader;
import io.alimi.event.EventJson;
import io.alimi.hub.Item;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Writes the {@code text/event-stream} format. Nothing a producer sent can add a field or an event: ids are
 * base64url cursors, event names are printable ASCII without spaces (checked when stored and again when read),
 * data is one line of JSON with every line break escaped.
 *
 * <p><b>Event names.</b> A CloudEvent is named after its type ({@code event: order.created}), so a page can listen
 * for the types it wants, unless its type could be taken for something else: a name EventSource gives its own
 * events ({@code message}, {@code open}, {@code error}) or one of Alimi's ({@link #CONTROL}, anything starting
 * {@code alimi.}). Producers cannot publish Alimi's names, but a stream may hold entries stored before a name was
 * reserved. Such an event is sent without a name, as a plain {@code message} (its type is in its data), so it can
 * never close a page's EventSource or pose as Alimi's. With {@code dispatch=message} every CloudEvent is sent so:
 * one {@code onmessage} handler sees every type (EventSource has no catch-all); the browser client asks for that.
 * Alimi's own messages are always named. A message always has a {@code data:} line, since EventSource drops one
 * without: a moved cursor is {@code event: alimi.cursor} with {@code data: {}}.
 *
 * <p>Messages are gathered in a buffer lent by {@link WriteBuffers} until {@link #flush()}, which hands them to
 * the response in one write (one chunk, one system call) and gives the buffer back: an idle connection keeps none.
 * This is the hot path of a broadcast (once per connection per event), so it copies each byte once and, for frames
 * that fit a pooled buffer, allocates nothing.
 */
final class SseWriter {

    private static final byte[] ID = ascii("id: ");
    private static final byte[] EVENT = ascii("\nevent: ");
    private static final byte[] DATA = ascii("\ndata: ");
    private static final byte[] END = ascii("\n\n");
    private static final byte[] HEARTBEAT = ascii(": keep-alive\n\n");
    private static final byte[] RETRY = ascii("retry: ");
    private static final byte[] EMPTY_OBJECT = ascii("{}");
    private static final String QUIET = "alimi.quiet";
    /** Names Alimi gives its own messages, besides those starting {@code alimi.}. */
    static final Set<String> CONTROL = Set.of("ready", "gap", "reconnect", "unread");
    /** Names EventSource gives events of its own. */
    private static final Set<String> BROWSER = Set.of("message", "open", "error");

    private final OutputStream response;
    private final boolean typed;
    /** Only while there is something to write: an idle connection keeps no buffer. */
    private byte[] buffer;
    private int length;

    /** @param typed whether CloudEvents are named after their type ({@link #typed(Optional)}) */
    SseWriter(OutputStream response, boolean typed) {
        this.response = response;
        this.typed = typed;
    }

    /**
     * The {@code dispatch} parameter: absent or {@code type} names events after their type, {@code message} sends
     * them all as plain messages.
     *
     * @throws StreamAccess.Refused for anything else
     */
    static boolean typed(Optional<String> dispatch) throws StreamAccess.Refused {
        if (dispatch.isEmpty() || dispatch.get().equals("type")) {
            return true;
        }
        if (dispatch.get().equals("message")) {
            return false;
        }
        throw new StreamAccess.Refused(io.alimi.http.Problem.badRequest("dispatch: must be type or message"));
    }

    /** Whether an event of this type may be sent under its own name. */
    static boolean nameable(String type) {
        return !CONTROL.contains(type) && !BROWSER.contains(type) && !type.startsWith("alimi.")
                && !EnvelopeReader.RESERVED_TYPES.contains(type);
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
                case Item.Event event -> {
                    String type = event.event().type();
                    // Quiet (muted on live, kept in the inbox): under a name of Alimi's, so no handler of its type
                    // toasts it; the data is the envelope as always.
                    event(item.cursor(), event.quiet() ? QUIET : typed && nameable(type) ? type : null, event.event().json());
                }
                case Item.Ready ready -> event(item.cursor(), "ready", EventJson.bytes(Frames.ready(ready)));
                case Item.Revoked revoked -> event(item.cursor(), "alimi.revoked", EventJson.bytes(Frames.revoked(revoked)));
                case Item.Gap gap -> event(item.cursor(), "gap", EventJson.bytes(Frames.gap(gap)));
                case Item.Unread unread -> event(item.cursor(), "unread", EventJson.bytes(Frames.unread(unread)));
                // Named and with data, so a page's handler sees it and can store the cursor.
                case Item.Advance advance -> event(advance.cursor(), "alimi.cursor", EMPTY_OBJECT);
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

    /**
     * Writes what is gathered and flushes. The buffer goes back to the pool only after the response has taken its
     * bytes: Helidon copies them into its chunk (or, for the first write, keeps them until the flush that sends the
     * headers), and both happen before {@code flush()} returns.
     */
    void flush() throws IOException {
        byte[] written = buffer;
        buffer = null;
        try {
            if (length > 0) {
                response.write(written, 0, length);
            }
            response.flush();
        } finally {
            length = 0;
            if (written != null) {
                WriteBuffers.giveBack(written);
            }
        }
    }

    /** One message; {@code name} null: unnamed, a plain {@code message}. */
    private void event(String cursor, String name, byte[] json) {
        reserve(ID.length + cursor.length() + EVENT.length + (name == null ? 0 : name.length()) + DATA.length
                + json.length + END.length);
        put(ID);
        putAscii(cursor);
        if (name != null) {
            put(EVENT);
            putAscii(name);
        }
        put(DATA);
        put(json);
        put(END);
    }

    private void reserve(int bytes) {
        if (buffer == null) {
            buffer = bytes <= WriteBuffers.SIZE ? WriteBuffers.take() : new byte[bytes];
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

package io.alimi.hub;

import io.alimi.event.EventId;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamId;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One stream entry on its way to clients: read once per node, shared by every connection it reaches.
 *
 * @param scope     the stream it was read from
 * @param id        its entry id in that stream
 * @param epoch     the epoch of that stream
 * @param previous  the entry before it in that stream when it was appended; null if not recorded (older entries)
 * @param event     the event's identity: source and id
 * @param eventHash {@link EventId#hash} of it
 * @param type      the CloudEvents type, printable ASCII without spaces (see {@code SseWriter} for how it is named
 *                  on the wire)
 * @param targets   every scope the event was sent to
 * @param json      the envelope: one line of UTF-8 JSON without CR, LF, U+2028 or U+2029 (do not modify)
 */
public record LiveEvent(Scope scope, StreamId id, long epoch, StreamId previous, EventId event, long eventHash,
                        String type, List<Scope> targets, byte[] json) {

    /**
     * Builds from a stored entry. Entries are validated when appended; this re-checks what could break a stream's
     * framing anyway, since anything with write access to Redis could have written the entry.
     */
    public static LiveEvent of(Scope scope, Entry entry) {
        EventId event = entry.event();
        return new LiveEvent(scope, entry.id(), entry.epoch(), entry.previous(), event, event.hash(),
                safeType(entry.type()), targets(scope, entry.targets()), safeJson(entry.json()));
    }

    private static List<Scope> targets(Scope scope, String text) {
        List<Scope> targets = Scope.readStored(text);
        if (!targets.contains(scope)) {
            targets.add(scope);
        }
        return List.copyOf(targets);
    }

    static String safeType(String type) {
        if (type == null || type.isEmpty()) {
            return "message";
        }
        StringBuilder safe = null;
        for (int i = 0; i < type.length(); i++) {
            char c = type.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                if (safe == null) {
                    safe = new StringBuilder(type);
                }
                safe.setCharAt(i, '_');
            }
        }
        return safe == null ? type : safe.toString();
    }

    static byte[] safeJson(byte[] json) {
        if (json == null) {
            return "null".getBytes(StandardCharsets.US_ASCII);
        }
        byte[] safe = json;
        for (int i = 0; i < safe.length; i++) {
            if (safe[i] == '\n' || safe[i] == '\r') {
                if (safe == json) {
                    safe = json.clone();
                }
                // Outside strings a raw line break is only whitespace; inside, JSON forbids it anyway.
                safe[i] = ' ';
            }
        }
        return EventJson.escapeLineSeparators(safe);
    }
}

package io.alimi.event;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A validated CloudEvent, as Alimi stores and relays it.
 *
 * @param id      the producer's event id: the idempotency key within each target scope
 * @param source  the CloudEvents {@code source}
 * @param type    the CloudEvents {@code type}; printable ASCII, safe in an SSE {@code event:} field
 * @param targets the distinct scopes it is for, in the order the producer listed them
 * @param push    whether it should also go to admin phones
 * @param json    the whole envelope as one line of UTF-8 JSON, members in the producer's order, nothing dropped;
 *                no raw CR, LF, U+2028 or U+2029 can occur in it (do not modify the array)
 */
public record Envelope(String id, String source, String type, List<Scope> targets, boolean push, byte[] json) {

    public Envelope {
        targets = List.copyOf(targets);
    }

    /** The envelope JSON as text. */
    public String jsonText() {
        return new String(json, StandardCharsets.UTF_8);
    }
}

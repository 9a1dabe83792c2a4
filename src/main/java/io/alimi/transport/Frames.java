package io.alimi.transport;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.hub.Item;

/** The JSON bodies of Alimi's own stream messages, the same for every transport. */
final class Frames {

    private Frames() {
    }

    /** {@code {"scopes":["all","admin:42"],"resumed":false}} */
    static ObjectNode ready(Item.Ready ready) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        ArrayNode scopes = body.putArray("scopes");
        for (Scope scope : ready.scopes()) {
            scopes.add(scope.toString());
        }
        body.put("resumed", ready.resumed());
        return body;
    }

    /** {@code {"scope":"mall:1","reason":"trimmed","after":"…","through":"…"}} ({@code through} null when unknown) */
    static ObjectNode gap(Item.Gap gap) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        body.put("scope", gap.scope().toString());
        body.put("reason", gap.reason());
        body.put("after", gap.after().toString());
        body.put("through", gap.through() == null ? null : gap.through().toString());
        return body;
    }

    /** {@code {"scopes":["mall:9"]}}: scopes the cursor followed that the admin lost; they are dropped. */
    static ObjectNode revoked(Item.Revoked revoked) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        ArrayNode scopes = body.putArray("scopes");
        for (Scope scope : revoked.scopes()) {
            scopes.add(scope.toString());
        }
        return body;
    }

    /** {@code {"reason":"draining","cursor":"…"}} */
    static ObjectNode reconnect(String reason, String cursor) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        body.put("reason", reason);
        body.put("cursor", cursor);
        return body;
    }

    /** {@code {"count":12,"capped":false,"text":"12"}} */
    static ObjectNode unread(Item.Unread unread) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        body.put("count", unread.count());
        body.put("capped", unread.capped());
        body.put("text", unread.capped() ? unread.count() + "+" : Integer.toString(unread.count()));
        return body;
    }
}

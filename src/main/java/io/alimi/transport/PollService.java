package io.alimi.transport;

import com.fasterxml.jackson.core.JsonGenerator;
import io.alimi.http.Query;
import io.alimi.http.Problem;
import io.alimi.event.EventJson;
import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/poll?cursor=…&wait=25}: long-poll, for networks that block streaming.
 *
 * <pre>
 * curl -s 'http://localhost:8080/v1/poll?wait=25' -H 'Authorization: Bearer dev-admin-1-token'
 * curl -s 'http://localhost:8080/v1/poll?wait=25&cursor=AQMAAA…' -H 'Authorization: Bearer dev-admin-1-token'
 * </pre>
 *
 * Answers at once with whatever is after the cursor, else waits up to {@code wait} seconds (0 to 60, default 25)
 * for something to arrive: {@code {"cursor":"…","events":[…],"gaps":[…]}}, with {@code "revoked":[…]} when the
 * cursor names scopes the admin lost (they are dropped). Send the returned cursor with the next poll. Without a cursor, the first poll starts from now. While the node drains, {@code "reconnect":"draining"} is
 * set and the poll answers at once.
 */
public final class PollService implements HttpService {

    public static final int DEFAULT_WAIT_SECONDS = 25;
    public static final int MAX_WAIT_SECONDS = 60;

    private final Relay relay;
    private final StreamAccess access;

    public PollService(Relay relay, StreamAccess access) {
        this.relay = relay;
        this.access = access;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::poll);
    }

    private void poll(ServerRequest req, ServerResponse res) {
        int waitSeconds;
        try {
            waitSeconds = Query.seconds(req.query(), "wait", DEFAULT_WAIT_SECONDS, 0, MAX_WAIT_SECONDS);
        } catch (IllegalArgumentException e) {
            HttpStreams.refuse(res, Problem.badRequest(e.getMessage()));
            return;
        }
        HttpStreams.Opened opened;
        try {
            opened = HttpStreams.open(relay, access, new HttpStreams.Request(req.remotePeer().address(), req.headers(),
                    req.query(), req.query().first("cursor").asOptional(), "poll", false));
        } catch (StreamAccess.Refused refused) {
            HttpStreams.refuse(res, refused.problem());
            return;
        }
        Session session = opened.session();
        try {
            List<Item> items = new ArrayList<>(opened.first());
            items.removeIf(item -> item instanceof Item.Ready);
            // A poll answers with the whole replay (pieces read one after another; max-catch-up bounds it).
            while (session.replaying() && session.ending().isEmpty()) {
                items.addAll(session.next(0));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
            while (!hasNews(items) && session.ending().isEmpty() && deadline - System.nanoTime() > 0) {
                items.addAll(session.next(Math.min(deadline - System.nanoTime(), session.nanosLeft())));
            }
            String cursor = items.isEmpty() ? session.cursor() : items.get(items.size() - 1).cursor();
            Optional<String> reconnect = session.ending().filter(end -> end == Session.End.DRAINING).map(Session.End::reason);
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.header(HeaderNames.CACHE_CONTROL, "no-store");
            res.send(body(cursor, items, reconnect));
        } finally {
            opened.close();
        }
    }

    private static boolean hasNews(List<Item> items) {
        return items.stream().anyMatch(item -> item instanceof Item.Event || item instanceof Item.Gap
                || item instanceof Item.Revoked);
    }


    private static byte[] body(String cursor, List<Item> items, Optional<String> reconnect) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = EventJson.mapper().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("cursor", cursor);
            json.writeArrayFieldStart("events");
            for (Item item : items) {
                if (item instanceof Item.Event event) {
                    json.writeRawValue(new String(event.event().json(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            json.writeEndArray();
            int index = 0;
            boolean quiet = false;
            for (Item item : items) {
                if (item instanceof Item.Event event) {
                    if (event.quiet()) {
                        if (!quiet) {
                            // Muted on live by the admin, kept in their inbox: the places in events of those.
                            json.writeArrayFieldStart("quiet");
                            quiet = true;
                        }
                        json.writeNumber(index);
                    }
                    index++;
                }
            }
            if (quiet) {
                json.writeEndArray();
            }
            json.writeArrayFieldStart("gaps");
            for (Item item : items) {
                if (item instanceof Item.Gap gap) {
                    json.writeTree(Frames.gap(gap));
                }
            }
            json.writeEndArray();
            for (Item item : items) {
                if (item instanceof Item.Revoked revoked) {
                    json.writeFieldName("revoked");
                    json.writeTree(Frames.revoked(revoked).get("scopes"));
                }
            }
            if (reconnect.isPresent()) {
                json.writeStringField("reconnect", reconnect.get());
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}

package io.alimi.transport;

import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.ServerConnectionException;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;

/**
 * {@code GET /v1/stream}: Server-Sent Events.
 *
 * <pre>
 * curl -N 'http://localhost:8080/v1/stream' -H 'Authorization: Bearer dev-admin-1-token'
 * curl -N 'http://localhost:8080/v1/stream?scopes=mall:1' -H 'Authorization: Bearer dev-admin-1-token' \
 *      -H 'Last-Event-ID: AQMAAA…'            # resume exactly after the last event received
 * new EventSource('/v1/stream?ticket=…')   // in a browser: a one-time ticket from POST /v1/tickets
 * </pre>
 *
 * Every message's {@code id:} is the cursor to resume from; {@code event:} is the CloudEvents type (see
 * {@link SseWriter} for the types that are sent as plain messages instead, and {@code dispatch=message}, which
 * sends every event so) or one of Alimi's: {@code ready} (first), {@code alimi.revoked}, {@code gap},
 * {@code unread}, {@code alimi.cursor} (the cursor moved), {@code reconnect} (last: draining, lifetime,
 * slow-consumer, reauth, store-unreachable). A comment line is written when idle for the heartbeat interval. The stream ends by itself
 * after its lifetime so clients spread over nodes.
 */
public final class SseService implements HttpService {

    static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");
    private static final HeaderName ACCEL_BUFFERING = HeaderNames.create("X-Accel-Buffering");

    private final Relay relay;
    private final StreamAccess access;

    public SseService(Relay relay, StreamAccess access) {
        this.relay = relay;
        this.access = access;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::stream);
    }

    private void stream(ServerRequest req, ServerResponse res) {
        Optional<String> cursor = req.headers().first(LAST_EVENT_ID).or(() -> req.query().first("lastEventId").asOptional());
        boolean typed;
        HttpStreams.Opened opened;
        try {
            typed = SseWriter.typed(req.query().first("dispatch").asOptional());
            opened = HttpStreams.open(relay, access, new HttpStreams.Request(req.remotePeer().address(), req.headers(),
                    req.query(), cursor, "sse", true));
        } catch (StreamAccess.Refused refused) {
            HttpStreams.refuse(res, refused.problem());
            return;
        }
        Session session = opened.session();
        try {
            res.status(Status.OK_200);
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
            res.header(HeaderNames.CACHE_CONTROL, "no-store");
            res.header(ACCEL_BUFFERING, "no");
            OutputStream out = res.outputStream();
            SseWriter sse = new SseWriter(out, typed);
            sse.retry(relay.retryMillis());
            sse.items(opened.first());
            sse.flush();
            pump(session, sse);
            out.close();
        } catch (ServerConnectionException | UncheckedIOException | IOException gone) {
            // The client went away; it resumes from the last id it received.
        } finally {
            opened.close();
        }
    }

    /** Writes live items until the session must end, then tells the client to reconnect. */
    private void pump(Session session, SseWriter sse) throws IOException {
        long heartbeat = relay.settings().heartbeat().toNanos();
        long lastWrite = System.nanoTime();
        while (true) {
            Optional<Session.End> end = session.ending();
            if (end.isPresent()) {
                sse.reconnect(end.get().reason(), session.cursor(), HttpStreams.retryFor(relay, end.get()));
                sse.flush();
                return;
            }
            long wait = Math.min(heartbeat - (System.nanoTime() - lastWrite), session.nanosLeft());
            List<Item> items = session.next(wait);
            if (!items.isEmpty()) {
                sse.items(items);
                sse.flush();
                lastWrite = System.nanoTime();
            } else if (System.nanoTime() - lastWrite >= heartbeat) {
                sse.heartbeat();
                sse.flush();
                lastWrite = System.nanoTime();
            }
        }
    }
}

package io.alimi.transport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.http.Problem;
import io.alimi.event.Cursor;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.EventJson;
import io.alimi.event.InvalidEventException;
import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.alimi.limit.Limits;
import io.helidon.common.buffers.BufferData;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code GET /v1/ws}: WebSocket, one listener per connection.
 *
 * <pre>
 * websocat -H 'Authorization: Bearer dev-admin-1-token' 'ws://localhost:8080/v1/ws?scopes=mall:1'
 * websocat "ws://localhost:8080/v1/ws?ticket=$TICKET"       # a one-time ticket from POST /v1/tickets
 * </pre>
 *
 * Server frames (text, JSON): {@code {"op":"ready","cursor":…,"scopes":[…],"resumed":…}} first, then
 * {@code {"op":"revoked","cursor":…,"scopes":[…]}} when the cursor names scopes the admin lost (they are dropped),
 * {@code {"cursor":…,"event":{…}}}, {@code {"cursor":…,"gap":{…}}}, {@code {"op":"unread",…}} and
 * {@code {"cursor":…}} (the cursor moved), and before the server closes, {@code {"op":"reconnect","reason":…,"cursor":…}}. WebSocket pings are the
 * heartbeat. Client frames: {@code {"op":"resume","cursor":"…"}} restarts delivery from that cursor,
 * {@code {"op":"ping"}} is answered {@code {"op":"pong"}}.
 *
 * <p>Close codes: 1000 stream lifetime reached (reconnect now), 1012 node draining (reconnect, to another node),
 * 1013 too slow to keep up, or over a connection limit or the node's admission rate, or tokens cannot be checked
 * right now, or over the admin's rate of {@code resume} messages (reconnect or resume after a delay; a refusal's
 * reason starts with it: {@code retry after 7 s: …}), 1011 the
 * timeline store is unreachable or the connection failed on the server (reconnect after a delay, from the last
 * cursor; the slot is released only once the socket is closed), 4400 bad request (the reason says what), 4401 missing,
 * invalid, revoked or expired credentials (get a new token or ticket), 4403 scope or origin not allowed.
 */
public final class WsEndpoint {

    public static final int LIFETIME = 1000;
    public static final int DRAINING = 1012;
    /**
     * Too slow to keep up, over a connection limit or a rate, or identities cannot be checked now: reconnect (or
     * resume) after a delay.
     */
    public static final int TRY_AGAIN_LATER = 1013;
    /** Redis could not be reached when the stream opened: reconnect after a delay. */
    public static final int UNAVAILABLE = 1011;
    public static final int BAD_REQUEST = 4400;
    public static final int UNAUTHORIZED = 4401;
    public static final int FORBIDDEN = 4403;

    private static final Logger LOG = Logger.getLogger(WsEndpoint.class.getName());

    private final Relay relay;
    private final StreamAccess access;

    public WsEndpoint(Relay relay, StreamAccess access) {
        this.relay = relay;
        this.access = access;
    }

    /** A listener per connection. */
    public Supplier<WsListener> listeners() {
        return Connection::new;
    }

    private static int closeCode(Problem problem) {
        return switch (problem.status().code()) {
            case 401 -> UNAUTHORIZED;
            case 403 -> FORBIDDEN;
            case 429, 503 -> TRY_AGAIN_LATER;
            default -> BAD_REQUEST;
        };
    }

    /**
     * The close reason of a refusal: its detail, and for 1013 the delay first ({@code retry after 7 s: …}), where a
     * client can read it (a browser sees no Retry-After header on a WebSocket) and truncation cannot cut it off.
     */
    static String reason(int code, Problem problem) {
        if (code != TRY_AGAIN_LATER || problem.retryAfterSeconds().isEmpty()) {
            return problem.detail();
        }
        return "retry after " + problem.retryAfterSeconds().getAsLong() + " s: " + problem.detail();
    }

    private final class Connection implements WsListener {

        // Helidon's WsSession does not serialize senders; the writer thread and pong replies share this lock.
        private final ReentrantLock sending = new ReentrantLock();
        private volatile HttpPrologue prologue;
        private volatile Headers headers;
        private volatile Cursor resumeFrom;
        private volatile boolean open = true;
        private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
        private volatile Session session;

        @Override
        public Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) {
            // Checked once open: a browser never sees the HTTP status of a failed WebSocket handshake, only a
            // close code and reason, and the client's address is known only then.
            this.prologue = prologue;
            this.headers = headers;
            return Optional.empty();
        }

        @Override
        public void onOpen(WsSession ws) {
            Optional<String> origin = headers.first(HeaderNames.ORIGIN);
            if (!access.origins().allows(origin, headers.first(HeaderNames.HOST))) {
                close(ws, FORBIDDEN, "origin is not allowed");
                return;
            }
            Thread.ofVirtual().name("alimi-ws").start(() -> write(ws));
        }

        @Override
        public void onMessage(WsSession ws, String text, boolean last) {
            JsonNode message;
            try {
                message = EnvelopeReader.parseJson(text.getBytes(StandardCharsets.UTF_8), "message");
            } catch (InvalidEventException e) {
                close(ws, BAD_REQUEST, e.getMessage());
                return;
            }
            String op = message.path("op").asText("");
            switch (op) {
                case "ping" -> send(ws, "{\"op\":\"pong\"}");
                case "resume" -> {
                    try {
                        resumeFrom = StreamAccess.cursor(message.path("cursor").asText(""));
                    } catch (StreamAccess.Refused refused) {
                        close(ws, BAD_REQUEST, refused.problem().detail());
                        return;
                    }
                    Session current = session;
                    if (current != null) {
                        current.wake();
                    }
                }
                default -> close(ws, BAD_REQUEST, "message: op must be resume or ping");
            }
        }

        @Override
        public void onPing(WsSession ws, BufferData buffer) {
            sending.lock();
            try {
                ws.pong(buffer);
            } finally {
                sending.unlock();
            }
        }

        @Override
        public void onClose(WsSession ws, int status, String reason) {
            stop();
        }

        @Override
        public void onError(WsSession ws, Throwable t) {
            stop();
        }

        private void stop() {
            open = false;
            Session current = session;
            if (current != null) {
                current.wake();
            }
        }

        /**
         * The writer thread: opens the stream (the same checks and session as SSE and long-poll), then writes live
         * items, heartbeats as pings, until the session or socket ends; a resume message joins a new session from
         * its cursor. Whatever fails closes the socket with a close code first; only then is the slot released.
         */
        private void write(WsSession ws) {
            HttpStreams.Opened opened;
            try {
                opened = HttpStreams.open(relay, access, new HttpStreams.Request(ws.socketContext().remotePeer().address(),
                        headers, prologue.query(), prologue.query().first("cursor").asOptional(), "ws", true));
            } catch (StreamAccess.StoreUnreachable unreachable) {
                close(ws, UNAVAILABLE, "the timeline store cannot be reached; reconnect");
                return;
            } catch (StreamAccess.Refused refused) {
                int code = closeCode(refused.problem());
                close(ws, code, reason(code, refused.problem()));
                return;
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "a WebSocket stream could not be opened", e);
                close(ws, UNAVAILABLE, "internal error; reconnect");
                return;
            }
            try {
                HttpStreams.Joined joined = opened.joined();
                while (open) {
                    session = joined.session();
                    try {
                        if (!send(ws, joined.first()) || !pump(ws, joined.session())) {
                            return;
                        }
                    } finally {
                        joined.session().close();
                    }
                    Cursor cursor = resumeFrom;
                    resumeFrom = null;
                    // Each resume replays from its cursor: an admin's resumes have a rate, like their connects.
                    Optional<io.alimi.limit.Limits.Exceeded> exceeded = access.limits().take(
                            io.alimi.limit.Limit.RESUMES_PER_ADMIN, opened.grant().identity().profile().adminNo());
                    if (exceeded.isPresent()) {
                        Problem problem = StreamAccess.problem(exceeded.get());
                        close(ws, TRY_AGAIN_LATER, reason(TRY_AGAIN_LATER, problem));
                        return;
                    }
                    try {
                        joined = HttpStreams.join(relay, opened.grant(), Optional.of(cursor),
                                HttpStreams.wantsUnread(prologue.query()));
                    } catch (StreamAccess.StoreUnreachable unreachable) {
                        close(ws, UNAVAILABLE, "the timeline store cannot be reached; reconnect");
                        return;
                    } catch (StreamAccess.Refused draining) {
                        close(ws, DRAINING, "draining");
                        return;
                    }
                }
            } catch (RuntimeException | Error e) {
                if (open) {
                    LOG.log(Level.WARNING, "a WebSocket stream failed; closing it", e);
                    close(ws, UNAVAILABLE, "internal error; reconnect");
                }
            } finally {
                // Closed already if the session ended or the client went; otherwise this closes it now. Either way
                // the socket is closed before its slot is released.
                close(ws, UNAVAILABLE, "closed; reconnect");
                opened.permit().close();
            }
        }

        /** False when the connection is over; true when the client asked to resume from another cursor. */
        private boolean pump(WsSession ws, Session current) {
            long heartbeat = relay.settings().heartbeat().toNanos();
            long lastWrite = System.nanoTime();
            while (open) {
                if (resumeFrom != null) {
                    return true;
                }
                Optional<Session.End> end = current.ending();
                if (end.isPresent()) {
                    ObjectNode notice = Frames.reconnect(end.get().reason(), current.cursor()).put("op", "reconnect");
                    send(ws, text(notice));
                    close(ws, switch (end.get()) {
                        case DRAINING -> DRAINING;
                        case SLOW_CONSUMER -> TRY_AGAIN_LATER;
                        case LIFETIME -> LIFETIME;
                        case REAUTH -> UNAUTHORIZED;
                        case STORE_UNREACHABLE -> UNAVAILABLE;
                    }, end.get().reason());
                    return false;
                }
                long wait = Math.min(heartbeat - (System.nanoTime() - lastWrite), current.nanosLeft());
                List<Item> items = current.next(wait);
                if (!items.isEmpty()) {
                    if (!send(ws, items)) {
                        return false;
                    }
                    lastWrite = System.nanoTime();
                } else if (System.nanoTime() - lastWrite >= heartbeat) {
                    sending.lock();
                    try {
                        ws.ping(BufferData.empty());
                    } finally {
                        sending.unlock();
                    }
                    lastWrite = System.nanoTime();
                }
            }
            return false;
        }

        private boolean send(WsSession ws, List<Item> items) {
            for (Item item : items) {
                if (!send(ws, frame(item))) {
                    return false;
                }
            }
            return true;
        }

        private String frame(Item item) {
            return switch (item) {
                case Item.Event event -> "{\"cursor\":\"" + item.cursor() + "\",\"event\":"
                        + new String(event.event().json(), StandardCharsets.UTF_8)
                        + (event.quiet() ? ",\"quiet\":true}" : "}");
                case Item.Ready ready -> {
                    ObjectNode body = Frames.ready(ready);
                    body.put("op", "ready");
                    body.put("cursor", item.cursor());
                    yield text(body);
                }
                case Item.Gap gap -> {
                    ObjectNode body = EventJson.mapper().createObjectNode();
                    body.put("cursor", item.cursor());
                    body.set("gap", Frames.gap(gap));
                    yield text(body);
                }
                case Item.Revoked revoked -> {
                    ObjectNode body = Frames.revoked(revoked);
                    body.put("op", "revoked");
                    body.put("cursor", item.cursor());
                    yield text(body);
                }
                case Item.Advance advance -> "{\"cursor\":\"" + advance.cursor() + "\"}";
                case Item.Unread unread -> text(Frames.unread(unread).put("op", "unread"));
            };
        }

        /**
         * A frame's JSON through Alimi's mapper: {@code JsonNode.toString()} would keep Jackson's per-thread buffers
         * (8 KiB of chars) alive in every connection's writer thread for the life of the connection.
         */
        private static String text(com.fasterxml.jackson.databind.JsonNode body) {
            return new String(EventJson.bytes(body), StandardCharsets.UTF_8);
        }

        private boolean send(WsSession ws, String text) {
            sending.lock();
            try {
                ws.send(text, true);
                return true;
            } catch (RuntimeException gone) {
                open = false;
                return false;
            } finally {
                sending.unlock();
            }
        }

        private void close(WsSession ws, int code, String reason) {
            open = false;
            if (!closing.compareAndSet(false, true)) {
                return;
            }
            sending.lock();
            try {
                // A close reason is at most 123 bytes.
                byte[] bytes = reason.getBytes(StandardCharsets.UTF_8);
                ws.close(code, bytes.length <= 123 ? reason : new String(bytes, 0, 120, StandardCharsets.UTF_8));
            } catch (RuntimeException ignored) {
                // already gone
            } finally {
                sending.unlock();
            }
        }
    }
}

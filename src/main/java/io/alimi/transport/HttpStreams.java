package io.alimi.transport;

import io.alimi.http.Problem;
import io.alimi.auth.BearerToken;
import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.alimi.limit.Limits;
import io.helidon.common.parameters.Parameters;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;

/** What the transports (SSE, long-poll, WebSocket) share: credentials, refusals, opening a session, retry delays. */
final class HttpStreams {

    static final String ACCESS_TOKEN = "access_token";
    static final String TICKET = "ticket";

    private HttpStreams() {
    }

    /** A session joined: its first items (ready, revoked scopes, gaps, replay) are to be written first. */
    record Joined(Session session, List<Item> first) {
    }

    /** A stream opened: its session and the client's connection slot; the caller closes it. */
    record Opened(StreamAccess.Grant grant, Joined joined, Limits.Permit permit) implements AutoCloseable {
        Session session() {
            return joined.session();
        }

        List<Item> first() {
            return joined.first();
        }

        @Override
        public void close() {
            try {
                joined.session().close();
            } finally {
                permit.close();
            }
        }
    }

    /**
     * A request to stream, as every transport has it.
     *
     * @param cursor    the cursor text the client sent, if any (SSE {@code Last-Event-ID}, a {@code cursor} parameter)
     * @param transport {@code sse}, {@code ws} or {@code poll}: what its connection slot is counted under
     * @param live      a stream (SSE, WebSocket) rather than a poll: it may follow the unread count
     */
    record Request(SocketAddress peer, Headers headers, Parameters query, Optional<String> cursor, String transport,
                   boolean live) {
    }

    /**
     * Checks the request (connect rate of its address, credentials, the node's admission rate, scopes, cursor,
     * connection limits), then {@link #join joins} a session: the one way every transport opens a stream. The
     * admission rate counts only requests whose credentials are good (a ticket's stream is not counted again).
     *
     * @throws StreamAccess.Refused with the problem to answer (or to close with), whatever step refused
     */
    static Opened open(Relay relay, StreamAccess access, Request request) throws StreamAccess.Refused {
        String client = access.admit(request.peer(), request.headers());
        StreamAccess.Credentials credentials = credentials(access, request.headers(), request.query());
        StreamAccess.Grant grant = access.check(client, credentials, request.query().first("scopes").asOptional(),
                request.cursor());
        Limits.Permit permit = access.acquire(grant, request.transport());
        try {
            return new Opened(grant, join(relay, grant, grant.cursor(), request.live() && wantsUnread(request.query())), permit);
        } catch (StreamAccess.Refused | RuntimeException | Error e) {
            permit.close();
            throw e;
        }
    }

    /**
     * Opens a session for a checked grant and joins it from {@code cursor}: how a stream starts, and how a
     * WebSocket resumes from another cursor on the same connection. The caller owns the session.
     *
     * @throws StreamAccess.Refused 503 while the node drains or when Redis cannot be reached
     */
    static Joined join(Relay relay, StreamAccess.Grant grant, Optional<io.alimi.event.Cursor> cursor, boolean unread)
            throws StreamAccess.Refused {
        Session session;
        try {
            session = relay.open(grant.identity(), grant.scopes());
        } catch (Relay.Draining draining) {
            throw new StreamAccess.Refused(Problem.unavailable("this node is shutting down; connect again"));
        }
        try {
            relay.followPreferences(session, grant.identity().profile().adminNo());
            List<Item> first = session.join(cursor, grant.identity().profile().scopes());
            if (unread) {
                relay.followUnread(session, grant.identity().profile().adminNo(), grant.identity().profile().scopes());
            }
            return new Joined(session, first);
        } catch (CompletionException | UncheckedIOException e) {
            session.close();
            throw new StreamAccess.StoreUnreachable();
        } catch (RuntimeException | Error e) {
            session.close();
            throw e;
        }
    }

    /** {@code unread=true}: the client wants the admin's unread count now and whenever it changes (live streams). */
    static boolean wantsUnread(Parameters query) {
        return query.first("unread").asOptional().filter("true"::equals).isPresent();
    }

    /** The credentials of a request: ticket and token parameters, the Authorization header, the session cookie. */
    static StreamAccess.Credentials credentials(StreamAccess access, Headers headers, Parameters query) {
        return new StreamAccess.Credentials(
                BearerToken.from(headers.first(HeaderNames.AUTHORIZATION)),
                query.first(TICKET).asOptional(),
                query.first(ACCESS_TOKEN).asOptional(),
                access.policy().cookieName().flatMap(name -> cookie(headers, name)));
    }

    /** The value of cookie {@code name}, from any {@code Cookie} header. */
    static Optional<String> cookie(Headers headers, String name) {
        if (!headers.contains(HeaderNames.COOKIE)) {
            return Optional.empty();
        }
        for (String header : headers.get(HeaderNames.COOKIE).allValues()) {
            for (String pair : header.split(";")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).strip().equals(name)) {
                    String value = pair.substring(eq + 1).strip();
                    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                        value = value.substring(1, value.length() - 1);
                    }
                    return value.isEmpty() ? Optional.empty() : Optional.of(value);
                }
            }
        }
        return Optional.empty();
    }

    static void refuse(ServerResponse res, Problem problem) {
        if (problem.status().code() == Status.UNAUTHORIZED_401.code()) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        problem.send(res);
    }

    /**
     * How long a client should wait before reconnecting: a lifetime end can come back at once (another node takes
     * it), a draining node's clients spread over the whole retry window, a slow client waits the full delay.
     */
    static long retryFor(Relay relay, Session.End end) {
        long jitter = relay.settings().retryJitter().toMillis();
        return switch (end) {
            case LIFETIME, REAUTH -> ThreadLocalRandom.current().nextLong(500) + 100;
            case DRAINING -> ThreadLocalRandom.current().nextLong(jitter + 1) + 100;
            case SLOW_CONSUMER, STORE_UNREACHABLE -> relay.retryMillis();
        };
    }
}

package io.alimi.transport;

import io.alimi.api.Problem;
import io.alimi.auth.BearerToken;
import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.alimi.limit.Limits;
import io.helidon.common.parameters.Parameters;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.UncheckedIOException;
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

    /** A session ready to stream: joined, with its first items (ready, gaps, replay), and its connection slot. */
    record Opened(Session session, List<Item> first, Limits.Permit permit) implements AutoCloseable {
        @Override
        public void close() {
            try {
                session.close();
            } finally {
                permit.close();
            }
        }
    }

    /**
     * Checks the request (connect rate of its address, the node's admission rate, credentials, scopes, cursor,
     * connection limits), opens a session and joins it; a {@code live} stream (not a poll) may also follow the
     * admin's unread count. When any step refuses (or the node drains, or Redis is unreachable) the problem is sent
     * and the result is empty; otherwise the caller owns the result and must close it. Both rates are checked before
     * a ticket is redeemed, so a client they refuse still holds its ticket.
     */
    static Optional<Opened> open(Relay relay, StreamAccess access, ServerRequest req, ServerResponse res,
                                 Optional<String> cursor, boolean live) {
        StreamAccess.Grant grant;
        Limits.Permit permit;
        try {
            access.admit(req.remotePeer().address(), req.headers());
            StreamAccess.Credentials credentials = credentials(access, req.headers(), req.query());
            access.admitStream(credentials);
            grant = access.check(credentials, req.query().first("scopes").asOptional(), cursor);
            permit = access.acquire(grant, live ? "sse" : "poll");
        } catch (StreamAccess.Refused refused) {
            refuse(res, refused.problem());
            return Optional.empty();
        }
        Session session;
        try {
            session = relay.open(grant.identity(), grant.scopes());
        } catch (Relay.Draining draining) {
            permit.close();
            Problem.unavailable("this node is shutting down; connect again").send(res);
            return Optional.empty();
        } catch (RuntimeException | Error e) {
            permit.close();
            throw e;
        }
        try {
            List<Item> first = session.join(grant.cursor());
            if (live && wantsUnread(req.query())) {
                relay.followUnread(session, grant.identity().profile().adminNo(), grant.identity().profile().scopes());
            }
            return Optional.of(new Opened(session, first, permit));
        } catch (CompletionException | UncheckedIOException e) {
            session.close();
            permit.close();
            Problem.unavailable("the timeline store cannot be reached; connect again").send(res);
            return Optional.empty();
        } catch (RuntimeException | Error e) {
            session.close();
            permit.close();
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
            case SLOW_CONSUMER -> relay.retryMillis();
        };
    }
}

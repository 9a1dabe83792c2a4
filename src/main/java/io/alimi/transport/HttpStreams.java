package io.alimi.transport;

import io.alimi.api.Problem;
import io.alimi.auth.BearerToken;
import io.alimi.hub.Item;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;

/** What the HTTP transports (SSE, long-poll) share: credentials, refusals, opening a session, retry delays. */
final class HttpStreams {

    static final String ACCESS_TOKEN = "access_token";

    private HttpStreams() {
    }

    /** A session ready to stream: joined, with its first items (ready, gaps, replay). */
    record Opened(Session session, List<Item> first) {
    }

    /**
     * Checks the request, opens a session and joins it. When any step refuses (credentials, scopes, cursor, a
     * draining node, Redis unreachable) the problem is sent and the result is empty; otherwise the caller owns the
     * session and must close it.
     */
    static Optional<Opened> open(Relay relay, StreamAccess access, ServerRequest req, ServerResponse res,
                                 Optional<String> cursor) {
        StreamAccess.Grant grant;
        try {
            grant = access.check(from(req), req.query().first("scopes").asOptional(), cursor);
        } catch (StreamAccess.Refused refused) {
            refuse(res, refused.problem());
            return Optional.empty();
        }
        Session session;
        try {
            session = relay.open(grant.identity(), grant.scopes());
        } catch (Relay.Draining draining) {
            res.header(HeaderNames.RETRY_AFTER, "1");
            Problem.unavailable("this node is shutting down; connect again").send(res);
            return Optional.empty();
        }
        try {
            return Optional.of(new Opened(session, session.join(grant.cursor())));
        } catch (CompletionException | UncheckedIOException e) {
            session.close();
            res.header(HeaderNames.RETRY_AFTER, "1");
            Problem.unavailable("the timeline store cannot be reached; connect again").send(res);
            return Optional.empty();
        } catch (RuntimeException | Error e) {
            session.close();
            throw e;
        }
    }

    /**
     * The admin token: the {@code Authorization: Bearer} header, else the {@code access_token} parameter (browsers
     * cannot set headers on EventSource and WebSocket).
     */
    static Optional<String> from(ServerRequest req) {
        return BearerToken.from(req.headers().first(HeaderNames.AUTHORIZATION))
                .or(() -> req.query().first(ACCESS_TOKEN).asOptional());
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

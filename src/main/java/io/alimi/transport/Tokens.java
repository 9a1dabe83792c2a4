package io.alimi.transport;

import io.alimi.api.Problem;
import io.alimi.auth.BearerToken;
import io.alimi.hub.Relay;
import io.alimi.hub.Session;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/** Credentials and refusals shared by the HTTP transports. */
final class Tokens {

    static final String ACCESS_TOKEN = "access_token";

    private Tokens() {
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

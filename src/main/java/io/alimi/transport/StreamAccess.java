package io.alimi.transport;

import io.alimi.api.Origins;
import io.alimi.api.Problem;
import io.alimi.auth.Identities;
import io.alimi.auth.Identity;
import io.alimi.auth.IdentityUnavailableException;
import io.alimi.auth.Narrowing;
import io.alimi.auth.Tickets;
import io.alimi.event.Cursor;
import io.alimi.event.InvalidEventException;
import io.alimi.event.Scope;
import io.alimi.limit.ClientAddress;
import io.alimi.limit.Limit;
import io.alimi.limit.Limits;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Who may open a stream on which scopes: the same rules for SSE, WebSocket and long-poll.
 *
 * <p>Credentials, first found wins: a one-time {@code ticket} parameter, the {@code Authorization: Bearer}
 * header, the session cookie (when enabled). A token in the URL ({@code access_token}) is refused unless
 * explicitly allowed: URLs end up in access logs, proxies and browser history, tickets expire in seconds.
 *
 * <p>The admin's token gives the scopes they are entitled to; {@code scopes} may narrow them, never widen (403
 * naming the scope); a cursor may only name scopes the admin is entitled to (403 otherwise: a cursor is opaque,
 * not a capability).
 */
public final class StreamAccess {

    private static final HeaderName FORWARDED_FOR = HeaderNames.create("X-Forwarded-For");

    /** What a request carried to prove who it is. */
    record Credentials(Optional<String> bearer, Optional<String> ticket, Optional<String> queryToken,
                       Optional<String> cookie) {
    }

    /**
     * How browsers may authenticate.
     *
     * @param allowQueryToken whether {@code access_token} in the URL is accepted
     * @param cookieName      the session cookie read by the stream endpoints, if enabled
     */
    public record Policy(boolean allowQueryToken, Optional<String> cookieName) {
        public static final Policy STRICT = new Policy(false, Optional.empty());
    }

    /** A client's request to stream, checked; {@code token} is what the identity came from. */
    record Grant(Identity identity, List<Scope> scopes, Optional<Cursor> cursor) {
    }

    /** A refused request, with the problem to answer. */
    static final class Refused extends Exception {
        private final transient Problem problem;

        Refused(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }

        Problem problem() {
            return problem;
        }
    }

    private final Identities identities;
    private final Optional<Tickets> tickets;
    private final Policy policy;
    private final Limits limits;
    private final Origins origins;
    private final ClientAddress clientAddress;
    private final java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> open = new java.util.concurrent.ConcurrentHashMap<>();

    public StreamAccess(Identities identities, Optional<Tickets> tickets, Policy policy, Limits limits, Origins origins,
                        ClientAddress clientAddress) {
        this.identities = identities;
        this.tickets = tickets;
        this.policy = policy;
        this.limits = limits;
        this.origins = origins;
        this.clientAddress = clientAddress;
    }

    Policy policy() {
        return policy;
    }

    Limits limits() {
        return limits;
    }

    Origins origins() {
        return origins;
    }

    /** Whether the client at {@code peer} (or behind it, if it is a trusted proxy) may connect now. */
    void admit(SocketAddress peer, Headers headers) throws Refused {
        Optional<Limits.Exceeded> exceeded = limits.connect(clientAddress.of(peer, headers.first(FORWARDED_FOR)));
        if (exceeded.isPresent()) {
            throw new Refused(problem(exceeded.get()));
        }
    }

    /** A connection slot for this admin, counted under its transport ({@code sse}, {@code ws}, {@code poll}). */
    Limits.Permit acquire(Identity identity, String transport) throws Refused {
        Limits.Permit permit;
        try {
            permit = limits.acquire(identity.profile().adminNo());
        } catch (Limits.LimitException e) {
            throw new Refused(problem(e.exceeded()));
        }
        java.util.concurrent.atomic.AtomicInteger count = open.computeIfAbsent(transport,
                t -> new java.util.concurrent.atomic.AtomicInteger());
        count.incrementAndGet();
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (closed.compareAndSet(false, true)) {
                count.decrementAndGet();
                permit.close();
            }
        };
    }

    /** Live connections now, by transport. */
    public java.util.Map<String, Integer> connections() {
        java.util.Map<String, Integer> now = new java.util.TreeMap<>();
        for (String transport : java.util.List.of("sse", "ws", "poll")) {
            now.put(transport, open.getOrDefault(transport, new java.util.concurrent.atomic.AtomicInteger()).get());
        }
        return now;
    }

    static Problem problem(Limits.Exceeded exceeded) {
        Problem problem = exceeded.limit() == Limit.MAX_CONNECTIONS
                ? Problem.unavailable(exceeded.detail())
                : Problem.tooManyRequests(exceeded.detail());
        return problem.retryAfter(exceeded.retryAfterSeconds());
    }

    /** The identity behind the credentials, or why there is none. */
    Identity identify(Credentials credentials) throws Refused {
        String token;
        if (credentials.ticket().isPresent()) {
            if (tickets.isEmpty()) {
                throw new Refused(Problem.unauthorized("tickets are not available on this node"));
            }
            try {
                token = tickets.get().redeem(credentials.ticket().get()).orElseThrow(() -> new Refused(Problem.unauthorized(
                        "the ticket is unknown, already used or expired: get a new one from POST /v1/tickets")));
            } catch (IdentityUnavailableException e) {
                throw new Refused(Problem.unavailable("tickets cannot be checked right now; retry"));
            }
        } else if (credentials.bearer().isPresent()) {
            token = credentials.bearer().get();
        } else if (credentials.queryToken().isPresent()) {
            if (!policy.allowQueryToken()) {
                throw new Refused(Problem.unauthorized("a token in the URL is refused (URLs end up in logs and "
                        + "history): send Authorization: Bearer, or put a one-time ticket from POST /v1/tickets in "
                        + "the ticket parameter"));
            }
            token = credentials.queryToken().get();
        } else if (credentials.cookie().isPresent()) {
            token = credentials.cookie().get();
        } else {
            throw new Refused(Problem.unauthorized("missing credentials: send Authorization: Bearer <token>, or a "
                    + "one-time ticket from POST /v1/tickets in the ticket parameter"));
        }
        if (token.isBlank()) {
            throw new Refused(Problem.unauthorized("the admin token is empty"));
        }
        try {
            return identities.resolve(token)
                    .orElseThrow(() -> new Refused(Problem.unauthorized("the admin token is not valid")));
        } catch (IdentityUnavailableException e) {
            throw new Refused(Problem.unavailable("admin tokens cannot be checked right now; retry"));
        }
    }

    /**
     * @param scopes the {@code scopes} parameter: comma-separated, empty for all entitled scopes
     * @param cursor the cursor to resume from, if any
     */
    Grant check(Credentials credentials, Optional<String> scopes, Optional<String> cursor) throws Refused {
        Identity identity = identify(credentials);
        Set<Scope> entitled = identity.profile().scopes();
        List<Scope> followed;
        try {
            followed = new ArrayList<>(Narrowing.of(entitled, scopes.orElse("")));
        } catch (IllegalArgumentException e) {
            throw new Refused(Problem.badRequest(e.getMessage()));
        } catch (Narrowing.NotEntitled e) {
            throw new Refused(Problem.forbidden(e.getMessage()));
        }
        Optional<Cursor> resume = Optional.empty();
        if (cursor.isPresent() && !cursor.get().isEmpty()) {
            try {
                resume = Optional.of(Cursor.decode(cursor.get()));
            } catch (InvalidEventException e) {
                throw new Refused(Problem.badRequest(e.getMessage()));
            }
            for (Cursor.Position position : resume.get().positions()) {
                if (!entitled.contains(position.scope())) {
                    throw new Refused(Problem.forbidden("the cursor names scope " + position.scope()
                            + ", which is not one of this admin's scopes"));
                }
            }
        }
        return new Grant(identity, List.copyOf(followed), resume);
    }
}

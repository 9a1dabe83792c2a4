package io.alimi.transport;

import io.alimi.http.Origins;
import io.alimi.http.Problem;
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
 * naming the scope). A cursor is opaque, not a capability: it never adds a scope to what is followed. One that
 * names scopes the admin no longer has is not refused — those are dropped and the client is told (see
 * {@code Session#join}); one that cannot be read is refused (400, naming what is wrong).
 */
public final class StreamAccess {

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

        /** {@code alimi.auth.allow-token-in-query}, and the cookie when {@code alimi.auth.cookie.enabled}. */
        public static Policy from(io.alimi.config.Settings settings) {
            boolean cookies = settings.bool("alimi.auth.cookie.enabled", false);
            return new Policy(settings.bool("alimi.auth.allow-token-in-query", false),
                    cookies ? Optional.of(BrowserAuthService.CookieSettings.name(settings)) : Optional.empty());
        }
    }

    /** A client's request to stream, checked; {@code spentTicket}: a ticket was redeemed for it. */
    record Grant(Identity identity, List<Scope> scopes, Optional<Cursor> cursor, boolean spentTicket) {
    }

    /** A refused request, with the problem to answer. */
    static class Refused extends Exception {
        private final transient Problem problem;

        Refused(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }

        Problem problem() {
            return problem;
        }
    }

    /** Refused because the timeline store cannot be reached (503: connect again after a delay). */
    static final class StoreUnreachable extends Refused {
        StoreUnreachable() {
            super(Problem.unavailable("the timeline store cannot be reached; connect again"));
        }
    }

    private final Identities identities;
    private final Tickets tickets;
    private final Policy policy;
    private final Limits limits;
    private final Origins origins;
    private final ClientAddress clientAddress;
    private final java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> open = new java.util.concurrent.ConcurrentHashMap<>();

    public StreamAccess(Identities identities, Tickets tickets, Policy policy, Limits limits, Origins origins,
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

    /**
     * Whether the client at {@code peer} (or behind it, if it is a trusted proxy) may connect now.
     *
     * @return the client's address, for the limits that follow
     */
    String admit(SocketAddress peer, Headers headers) throws Refused {
        String client = io.alimi.http.AdminAuth.client(clientAddress, peer, headers);
        Optional<Limits.Exceeded> exceeded = limits.connect(client);
        if (exceeded.isPresent()) {
            throw new Refused(problem(exceeded.get()));
        }
        return client;
    }

    /**
     * Whether the node takes one more stream now (its admission rate, all addresses together). Called once the
     * credentials are known good, so requests without a valid one never spend the budget real admins reconnect on;
     * they have a small one of their own, per address ({@link Limit#FAILED_AUTH_PER_IP}).
     *
     * <p>A request with a ticket is not counted: its ticket was, when it was issued ({@link #admitTicket}). That is
     * where a browser can be refused readably: EventSource never shows a script the status or headers of a refused
     * open, but the ticket request is a {@code fetch}. Counting the open again would charge a browser twice and refuse
     * it where it cannot see why.
     */
    void admitStream(Credentials credentials) throws Refused {
        if (credentials.ticket().isEmpty()) {
            admitNew();
        }
    }

    /**
     * Whether {@code adminNo} gets one more ticket now: within the admin's own ticket rate, and since each ticket
     * opens one stream, within the node's admission rate like the stream it stands for. Refused, no ticket exists,
     * so none is wasted.
     */
    void admitTicket(String adminNo) throws Refused {
        Optional<Limits.Exceeded> exceeded = limits.take(Limit.TICKETS_PER_ADMIN, adminNo);
        if (exceeded.isPresent()) {
            throw new Refused(problem(exceeded.get()));
        }
        admitNew();
    }

    private void admitNew() throws Refused {
        Optional<Limits.Exceeded> exceeded = limits.admit();
        if (exceeded.isPresent()) {
            throw new Refused(problem(exceeded.get()));
        }
    }

    /**
     * A connection slot for this admin, counted under its transport ({@code sse}, {@code ws}, {@code poll}). The
     * connection limits need the admin, so they come after a ticket is redeemed: a client they refuse is told its
     * ticket is spent.
     */
    Limits.Permit acquire(Grant grant, String transport) throws Refused {
        Limits.Permit permit;
        try {
            permit = limits.acquire(grant.identity().profile().adminNo());
        } catch (Limits.LimitException e) {
            Problem problem = problem(e.exceeded());
            if (grant.spentTicket()) {
                problem = new Problem(problem.status(), problem.code(), problem.title(), problem.detail()
                        + " (the ticket is spent: get a new one)", problem.errors(), problem.retryAfterSeconds());
            }
            throw new Refused(problem);
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
        return io.alimi.http.AdminAuth.refusal(exceeded);
    }

    /**
     * The identity behind the credentials, or why there is none. An address whose bad credentials used up
     * {@link Limit#FAILED_AUTH_PER_IP} is refused (429) before these are looked at; each refusal for a missing,
     * invalid or expired credential counts against it.
     *
     * @param client the client's address, as {@link #admit} gave it
     */
    Identity identify(String client, Credentials credentials) throws Refused {
        Optional<Limits.Exceeded> exceeded = limits.mayAuthenticate(client);
        if (exceeded.isPresent()) {
            throw new Refused(problem(exceeded.get()));
        }
        try {
            return resolve(credentials);
        } catch (Refused refused) {
            if (refused.problem().status().code() == 401) {
                limits.failedAuth(client);
            }
            throw refused;
        }
    }

    private Identity resolve(Credentials credentials) throws Refused {
        String token;
        if (credentials.ticket().isPresent()) {
            try {
                token = tickets.redeem(credentials.ticket().get()).orElseThrow(() -> new Refused(Problem.unauthorized(
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

    /** Reads cursor text a client sent, or refuses it (400) saying what is wrong with it. */
    static Cursor cursor(String text) throws Refused {
        try {
            return Cursor.decode(text);
        } catch (InvalidEventException e) {
            throw new Refused(Problem.badRequest(e.getMessage()));
        }
    }

    /**
     * Checks credentials (then the node's admission rate, see {@link #admitStream}), scopes and cursor.
     *
     * @param client the client's address, as {@link #admit} gave it
     * @param scopes the {@code scopes} parameter: comma-separated, empty for all entitled scopes
     * @param cursor the cursor to resume from, if any
     */
    Grant check(String client, Credentials credentials, Optional<String> scopes, Optional<String> cursor)
            throws Refused {
        Identity identity = identify(client, credentials);
        admitStream(credentials);
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
            resume = Optional.of(cursor(cursor.get()));
        }
        return new Grant(identity, List.copyOf(followed), resume, credentials.ticket().isPresent());
    }
}

package io.alimi.http;

import io.alimi.auth.BearerToken;
import io.alimi.auth.Identities;
import io.alimi.auth.Identity;
import io.alimi.auth.IdentityUnavailableException;
import io.alimi.auth.Profile;
import io.alimi.limit.ClientAddress;
import io.alimi.limit.Limit;
import io.alimi.limit.Limits;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;

/**
 * The admin behind a REST request's {@code Authorization: Bearer} header, and whether they may make one more
 * request of its kind now; refusals are sent as problems.
 *
 * <p>In order: an address whose bad credentials used up {@link Limit#FAILED_AUTH_PER_IP} is refused (429) before
 * its token is looked at (a flood of random tokens costs a counter each, not an introspection call and a cache
 * entry); a missing or invalid token is 401 and counted against its address; then the admin's own rate for the
 * kind of request (reads, read marks, device writes) applies (429 with {@code Retry-After}).
 */
public final class AdminAuth {

    private static final HeaderName FORWARDED_FOR = HeaderNames.create("X-Forwarded-For");

    private final Identities identities;
    private final Limits limits;
    private final ClientAddress clientAddress;

    public AdminAuth(Identities identities, Limits limits, ClientAddress clientAddress) {
        this.identities = identities;
        this.limits = limits;
        this.clientAddress = clientAddress;
    }

    /**
     * The admin's profile, or empty after a 401, 429 or 503 has been sent.
     *
     * @param kind the per-admin limit this request counts against
     */
    public Optional<Profile> profile(ServerRequest req, ServerResponse res, Limit kind) {
        String client = client(clientAddress, req.remotePeer().address(), req.headers());
        Optional<Limits.Exceeded> flooding = limits.mayAuthenticate(client);
        if (flooding.isPresent()) {
            refusal(flooding.get()).send(res);
            return Optional.empty();
        }
        Optional<Profile> profile = identify(identities, req, res);
        if (profile.isEmpty()) {
            if (res.status().code() == 401) {
                limits.failedAuth(client);
            }
            return profile;
        }
        Optional<Limits.Exceeded> exceeded = limits.take(kind, profile.get().adminNo());
        if (exceeded.isPresent()) {
            refusal(exceeded.get()).send(res);
            return Optional.empty();
        }
        return profile;
    }

    /**
     * The client's address, for per-address limits: the peer, or behind a trusted proxy the address it forwards
     * ({@code X-Forwarded-For}). The same for REST requests and streams.
     */
    public static String client(ClientAddress clientAddress, java.net.SocketAddress peer, io.helidon.http.Headers headers) {
        return clientAddress.of(peer, headers.first(FORWARDED_FOR));
    }

    /** The problem for a limit's refusal: 503 for the node's own limits (another node may take you), else 429. */
    public static Problem refusal(Limits.Exceeded exceeded) {
        Problem problem = exceeded.limit() == Limit.MAX_CONNECTIONS || exceeded.limit() == Limit.ADMISSIONS_PER_SECOND
                ? Problem.unavailable(exceeded.detail())
                : Problem.tooManyRequests(exceeded.detail());
        return problem.retryAfter(exceeded.retryAfterSeconds());
    }

    /** The admin's profile from the bearer token alone, or empty after a 401 or 503 has been sent. */
    static Optional<Profile> identify(Identities identities, ServerRequest req, ServerResponse res) {
        Optional<String> token = BearerToken.from(req.headers().first(HeaderNames.AUTHORIZATION));
        if (token.isEmpty()) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
            Problem.unauthorized("missing Authorization: Bearer <admin token>").send(res);
            return Optional.empty();
        }
        Optional<Profile> profile;
        try {
            profile = identities.resolve(token.get()).map(Identity::profile);
        } catch (IdentityUnavailableException e) {
            Problem.unavailable("admin tokens cannot be checked right now; retry").send(res);
            return Optional.empty();
        }
        if (profile.isEmpty()) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"");
            Problem.unauthorized("the admin token is not valid").send(res);
        }
        return profile;
    }

    /** Kept for callers not yet limited per admin: {@link #identify}. */
    public static Optional<Profile> profile(Identities identities, ServerRequest req, ServerResponse res) {
        return identify(identities, req, res);
    }
}

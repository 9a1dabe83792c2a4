package io.alimi.transport;

import io.alimi.http.Problem;
import io.alimi.auth.BearerToken;
import io.alimi.auth.Identity;
import io.alimi.auth.IdentityUnavailableException;
import io.alimi.auth.Tickets;
import io.alimi.event.EventJson;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * How a browser gets credentials it can use where it cannot send headers (EventSource, WebSocket).
 *
 * <pre>
 * POST /v1/tickets   Authorization: Bearer &lt;token&gt;   → {"ticket": "…", "expiresIn": 30}
 *                    then GET /v1/stream?ticket=… (or /v1/ws?ticket=…), once, within expiresIn seconds
 * POST /v1/cookie    Authorization: Bearer &lt;token&gt;   → 204, Set-Cookie: alimi_token=…; HttpOnly; SameSite=Strict
 * DELETE /v1/cookie                                   → 204, the cookie cleared
 * </pre>
 *
 * The cookie endpoints exist only when cookie sessions are enabled ({@code alimi.auth.cookie.enabled}).
 *
 * <p>A ticket counts against the node's admission rate as the stream it will open (which is not counted again): a
 * busy node answers 503 with {@code Retry-After} here, where a browser's {@code fetch} can read it, instead of at the
 * EventSource open, where it cannot.
 */
public final class BrowserAuthService implements HttpService {

    /** Cookie lifetime when the token's own expiry is unknown. */
    static final Duration DEFAULT_COOKIE_MAX_AGE = Duration.ofHours(8);

    /**
     * @param secure whether the cookie is marked {@code Secure} (sent over HTTPS only; browsers treat
     *               {@code http://localhost} as secure too)
     */
    public record CookieSettings(boolean enabled, String name, boolean secure) {
        public static final String DEFAULT_NAME = "alimi_token";

        /** {@code alimi.auth.cookie.*}. */
        public static CookieSettings from(io.alimi.config.Settings settings) {
            return new CookieSettings(settings.bool("alimi.auth.cookie.enabled", false), name(settings),
                    settings.bool("alimi.auth.cookie.secure", true));
        }

        /** {@code alimi.auth.cookie.name}. */
        static String name(io.alimi.config.Settings settings) {
            String name = settings.string("alimi.auth.cookie.name", DEFAULT_NAME);
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new io.alimi.config.SettingsException("alimi.auth.cookie.name",
                        "must be 1 to 64 characters of A-Z a-z 0-9 _ -");
            }
            return name;
        }
    }

    private final StreamAccess access;
    private final Tickets tickets;
    private final CookieSettings cookie;

    public BrowserAuthService(StreamAccess access, Tickets tickets, CookieSettings cookie) {
        this.access = access;
        this.tickets = tickets;
        this.cookie = cookie;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/tickets", this::ticket);
        rules.post("/cookie", this::setCookie);
        rules.delete("/cookie", this::clearCookie);
    }

    private void ticket(ServerRequest req, ServerResponse res) {
        Optional<String> token;
        try {
            String client = access.admit(req.remotePeer().address(), req.headers());
            token = token(req, client);
            Identity identity = access.identify(client,
                    new StreamAccess.Credentials(token, Optional.empty(), Optional.empty(), Optional.empty()));
            access.admitTicket(identity.profile().adminNo());
        } catch (StreamAccess.Refused refused) {
            HttpStreams.refuse(res, refused.problem());
            return;
        }
        String ticket;
        try {
            ticket = tickets.issue(token.get());
        } catch (IdentityUnavailableException e) {
            Problem.unavailable("tickets cannot be issued right now; retry").send(res);
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("ticket", ticket)
                .put("expiresIn", tickets.timeToLive().toSeconds())));
    }

    private void setCookie(ServerRequest req, ServerResponse res) {
        if (!cookie.enabled()) {
            cookiesDisabled(res);
            return;
        }
        Optional<String> token;
        Identity identity;
        try {
            String client = access.admit(req.remotePeer().address(), req.headers());
            token = token(req, client);
            identity = access.identify(client,
                    new StreamAccess.Credentials(token, Optional.empty(), Optional.empty(), Optional.empty()));
            access.admitTicket(identity.profile().adminNo());
        } catch (StreamAccess.Refused refused) {
            HttpStreams.refuse(res, refused.problem());
            return;
        }
        if (!token.get().chars().allMatch(BrowserAuthService::cookieOctet)) {
            Problem.badRequest("this token has characters a cookie cannot carry; use POST /v1/tickets instead").send(res);
            return;
        }
        long maxAge = identity.expiresAt()
                .map(at -> Math.max(0, Duration.between(Instant.now(), at).toSeconds()))
                .orElse(DEFAULT_COOKIE_MAX_AGE.toSeconds());
        res.header(HeaderNames.SET_COOKIE, cookie(token.get(), maxAge));
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.status(Status.NO_CONTENT_204);
        res.send();
    }

    private void clearCookie(ServerRequest req, ServerResponse res) {
        if (!cookie.enabled()) {
            cookiesDisabled(res);
            return;
        }
        res.header(HeaderNames.SET_COOKIE, cookie("", 0));
        res.status(Status.NO_CONTENT_204);
        res.send();
    }

    private String cookie(String value, long maxAgeSeconds) {
        return cookie.name() + "=" + value + "; Path=/v1; Max-Age=" + maxAgeSeconds + "; HttpOnly; SameSite=Strict"
                + (cookie.secure() ? "; Secure" : "");
    }

    private static void cookiesDisabled(ServerResponse res) {
        Problem.of(Status.NOT_FOUND_404, "not-found", "Not found",
                "cookie sessions are disabled on this node (alimi.auth.cookie.enabled)").send(res);
    }

    /**
     * Only the Authorization header: a ticket or cookie does not mint more credentials. Its absence counts as a bad
     * credential, as in {@link StreamAccess#identify}.
     */
    private Optional<String> token(ServerRequest req, String client) throws StreamAccess.Refused {
        Optional<String> token = BearerToken.from(req.headers().first(HeaderNames.AUTHORIZATION));
        if (token.isEmpty()) {
            access.limits().failedAuth(client);
            throw new StreamAccess.Refused(Problem.unauthorized("missing credentials: send Authorization: Bearer <token>"));
        }
        return token;
    }

    private static boolean cookieOctet(int c) {
        return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B)
                || (c >= 0x5D && c <= 0x7E);
    }
}

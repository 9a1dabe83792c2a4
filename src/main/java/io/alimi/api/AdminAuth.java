package io.alimi.api;

import io.alimi.auth.BearerToken;
import io.alimi.auth.Identities;
import io.alimi.auth.Identity;
import io.alimi.auth.IdentityUnavailableException;
import io.alimi.auth.Profile;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;

/** The admin behind a REST request's {@code Authorization: Bearer} header; refusals are sent as problems. */
public final class AdminAuth {

    private AdminAuth() {
    }

    /** The admin's profile, or empty after a 401 or 503 has been sent. */
    public static Optional<Profile> profile(Identities identities, ServerRequest req, ServerResponse res) {
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
}

package io.alimi.http;

import io.alimi.event.Text;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;

/**
 * Cross-origin requests from the back-office front ends: requests from a listed origin get CORS headers (with
 * credentials, so cookies work), preflights are answered here; requests from an origin neither listed nor Alimi's
 * own are refused with 403 naming the origin (see {@link Origins} for why refused, not merely unlabelled).
 *
 * <p>A route handler that runs first and passes on with {@code res.next()}, not a routing filter: a filter calls
 * the rest of the routing from inside itself, and every live stream would then park its virtual thread some
 * frames deeper for its whole life (a bigger saved stack per idle connection).
 */
public final class Cors implements Handler {

    private static final HeaderName ALLOW_ORIGIN = HeaderNames.create("Access-Control-Allow-Origin");
    private static final HeaderName ALLOW_CREDENTIALS = HeaderNames.create("Access-Control-Allow-Credentials");
    private static final HeaderName ALLOW_METHODS = HeaderNames.create("Access-Control-Allow-Methods");
    private static final HeaderName ALLOW_HEADERS = HeaderNames.create("Access-Control-Allow-Headers");
    private static final HeaderName EXPOSE_HEADERS = HeaderNames.create("Access-Control-Expose-Headers");
    private static final HeaderName MAX_AGE = HeaderNames.create("Access-Control-Max-Age");
    private static final HeaderName REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");

    private final Origins origins;

    public Cors(Origins origins) {
        this.origins = origins;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        if (origin.isEmpty()) {
            res.next();
            return;
        }
        if (!origins.allows(origin, req.headers().first(HeaderNames.HOST))) {
            Problem.forbidden("origin '" + Text.quote(origin.get()) + "' is not allowed: add it to "
                    + "alimi.http.cors.allowed-origins").send(res);
            return;
        }
        if (origins.listed(origin.get())) {
            res.header(ALLOW_ORIGIN, origin.get());
            res.header(HeaderNames.VARY, "Origin");
            res.header(ALLOW_CREDENTIALS, "true");
            res.header(EXPOSE_HEADERS, "Retry-After, Location");
            if (req.prologue().method().equals(Method.OPTIONS) && req.headers().contains(REQUEST_METHOD)) {
                res.header(ALLOW_METHODS, "GET, POST, DELETE");
                res.header(ALLOW_HEADERS, "Authorization, Content-Type, Last-Event-ID");
                res.header(MAX_AGE, "600");
                res.status(Status.NO_CONTENT_204);
                res.send();
                return;
            }
        }
        res.next();
    }
}

package io.alimi.http;

import io.alimi.event.Text;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;

/**
 * Problem responses for what the HTTP server refuses before any route runs: a body over the server's hard limit,
 * a request that is not valid HTTP. Their text never echoes the request (it could carry a credential).
 */
public final class TransportProblems {

    private TransportProblems() {
    }

    /** @param maxBodyBytes the limit the publish API enforces, named in the message */
    public static DirectHandlers handlers(int maxBodyBytes) {
        DirectHandler handler = (request, type, status, headers, message) -> respond(problem(status, maxBodyBytes), headers);
        return DirectHandlers.builder()
                .addHandler(DirectHandler.EventType.PAYLOAD_TOO_LARGE, handler)
                .addHandler(DirectHandler.EventType.BAD_REQUEST, handler)
                .addHandler(DirectHandler.EventType.HTTP_VERSION_NOT_SUPPORTED, handler)
                .build();
    }

    /** Helidon reports some refusals (an oversize body among them) as BAD_REQUEST events: the status tells them apart. */
    static Problem problem(Status status, int maxBodyBytes) {
        if (status.code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
            return Problem.tooLarge("body: exceeds the limit of " + Text.count(maxBodyBytes) + " bytes");
        }
        if (status.code() == Status.HTTP_VERSION_NOT_SUPPORTED_505.code()) {
            // Streams need HTTP/1.1 framing (chunked bodies, keep-alive); nginx speaks HTTP/1.0 to upstreams unless
            // told otherwise.
            return Problem.of(status, "http-version-not-supported", status.reasonPhrase(), "HTTP/1.0 is not "
                    + "supported: send HTTP/1.1 (curl --http1.1; behind nginx: proxy_http_version 1.1; and "
                    + "proxy_set_header Connection \"\";)");
        }
        if (status.code() == Status.BAD_REQUEST_400.code()) {
            return Problem.badRequest("the request is not valid HTTP/1.1");
        }
        return Problem.of(status, "invalid-request", status.reasonPhrase(), "the request was refused: " + status.reasonPhrase());
    }

    private static DirectHandler.TransportResponse respond(Problem problem, ServerResponseHeaders headers) {
        return DirectHandler.TransportResponse.builder()
                .status(problem.status())
                .headers(headers)
                .header(HeaderNames.CONTENT_TYPE, Problem.MEDIA_TYPE)
                // The rest of an oversize body is not read: the connection cannot be reused.
                .keepAlive(problem.status().code() != Status.REQUEST_ENTITY_TOO_LARGE_413.code())
                .entity(problem.toJson())
                .build();
    }
}

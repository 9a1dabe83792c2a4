package io.alimi.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.util.List;
import java.util.OptionalLong;

/**
 * An RFC 9457 problem response: {@code application/problem+json} with a stable {@code type} URN per kind of
 * problem, a human {@code detail} that names what is wrong, and for events the list of every field at fault.
 * Details never contain a credential or raw control characters.
 */
public record Problem(Status status, String code, String title, String detail, List<FieldError> errors,
                      OptionalLong retryAfterSeconds) {

    public static final String MEDIA_TYPE = "application/problem+json";

    /** One rule broken by one event of a request; {@code index} is the event's position in a batch. */
    public record FieldError(int index, String field, String message) {
    }

    public Problem {
        errors = List.copyOf(errors);
    }

    public Problem(Status status, String code, String title, String detail, List<FieldError> errors) {
        this(status, code, title, detail, errors, OptionalLong.empty());
    }

    /** The same problem, telling the client when to try again ({@code Retry-After}). */
    public Problem retryAfter(long seconds) {
        return new Problem(status, code, title, detail, errors, OptionalLong.of(Math.max(1, seconds)));
    }

    public static Problem tooManyRequests(String detail) {
        return of(Status.TOO_MANY_REQUESTS_429, "too-many-requests", "Too many requests", detail);
    }

    public static Problem of(Status status, String code, String title, String detail) {
        return new Problem(status, code, title, detail, List.of());
    }

    public static Problem badRequest(String detail) {
        return of(Status.BAD_REQUEST_400, "invalid-request", "Invalid request", detail);
    }

    public static Problem unauthorized(String detail) {
        return of(Status.UNAUTHORIZED_401, "unauthorized", "Unauthorized", detail);
    }

    public static Problem forbidden(String detail) {
        return of(Status.FORBIDDEN_403, "forbidden", "Forbidden", detail);
    }

    public static Problem tooLarge(String detail) {
        return of(Status.REQUEST_ENTITY_TOO_LARGE_413, "payload-too-large", "Payload too large", detail);
    }

    public static Problem unavailable(String detail) {
        return of(Status.SERVICE_UNAVAILABLE_503, "unavailable", "Temporarily unavailable", detail).retryAfter(1);
    }

    public String type() {
        return "urn:alimi:problem:" + code;
    }

    public byte[] toJson() {
        ObjectNode body = EventJson.mapper().createObjectNode();
        body.put("type", type());
        body.put("title", title);
        body.put("status", status.code());
        body.put("detail", detail);
        if (!errors.isEmpty()) {
            ArrayNode list = body.putArray("errors");
            for (FieldError error : errors) {
                list.addObject().put("index", error.index()).put("field", error.field()).put("message", error.message());
            }
        }
        return EventJson.bytes(body);
    }

    public void send(ServerResponse res) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, MEDIA_TYPE);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        retryAfterSeconds.ifPresent(seconds -> res.header(HeaderNames.RETRY_AFTER, Long.toString(seconds)));
        res.send(toJson());
    }
}

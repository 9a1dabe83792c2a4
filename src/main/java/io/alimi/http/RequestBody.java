package io.alimi.http;

import io.alimi.event.Text;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.OptionalLong;

/** Reads a request body without ever holding more than the limit in memory. */
public final class RequestBody {

    private RequestBody() {
    }

    /** Thrown when the body is larger than allowed; the message says by how much, for the 413 problem. */
    public static final class TooLarge extends Exception {
        TooLarge(String message) {
            super(message, null, false, false);
        }
    }

    public static byte[] read(ServerRequest req, int limit) throws TooLarge {
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw new TooLarge("body: " + Text.count(declared.getAsLong()) + " bytes exceed the limit of " + Text.count(limit));
        }
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        byte[] buffer = new byte[(int) Math.min(limit + 1L, Math.max(256, declared.orElse(8192)))];
        int length = 0;
        try (InputStream in = req.content().inputStream()) {
            while (true) {
                if (length == buffer.length) {
                    if (length > limit) {
                        throw new TooLarge("body: more than " + Text.count(limit) + " bytes");
                    }
                    buffer = Arrays.copyOf(buffer, (int) Math.min(limit + 1L, buffer.length * 2L));
                }
                int n = in.read(buffer, length, buffer.length - length);
                if (n < 0) {
                    break;
                }
                length += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the request body", e);
        }
        if (length > limit) {
            throw new TooLarge("body: more than " + Text.count(limit) + " bytes");
        }
        return length == buffer.length ? buffer : Arrays.copyOf(buffer, length);
    }

    /**
     * The body as a JSON value, or empty after a 413 (over {@code limit}) or 400 (not JSON, saying where) has been
     * sent: for the small JSON bodies of the admin endpoints.
     */
    public static java.util.Optional<com.fasterxml.jackson.databind.JsonNode> json(ServerRequest req,
                                                                                 io.helidon.webserver.http.ServerResponse res,
                                                                                 int limit) {
        try {
            return java.util.Optional.of(io.alimi.event.EnvelopeReader.parseJson(read(req, limit), "body"));
        } catch (TooLarge e) {
            Problem.tooLarge(e.getMessage()).send(res);
        } catch (io.alimi.event.InvalidEventException e) {
            Problem.badRequest(e.getMessage()).send(res);
        }
        return java.util.Optional.empty();
    }
}

package io.alimi.http;

import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * {@code Connection: close} closes the connection once the response is written, on every route.
 *
 * <p>Helidon answers such a request with {@code Connection: close} and then waits for another request on the same
 * socket until the idle timeout: a client that reads to the end of the stream (HTTP/1.0-style clients, many
 * scripts) hangs, and a publisher that closes per request leaves a server socket behind per request. This filter
 * ends the connection itself once its route is done: when {@code proceed} returns, the response (a streamed one
 * too) has been written in full. The unread rest of a request body is read first (within the server's payload
 * limit), so that closing does not reset the connection before the client has read the answer. A WebSocket
 * handshake is left alone.
 */
public final class ConnectionClose {

    private ConnectionClose() {
    }

    public static void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        chain.proceed();
        if (!req.headers().containsToken(HeaderValues.CONNECTION_CLOSE)
                || res.status().code() == Status.SWITCHING_PROTOCOLS_101.code()) {
            return;
        }
        if (!req.content().consumed()) {
            try {
                req.content().consume();
            } catch (RuntimeException ignored) {
                // the client went, or sent more than the payload limit: close regardless
            }
        }
        throw new CloseConnectionException("Connection: close");
    }
}

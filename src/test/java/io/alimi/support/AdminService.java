package io.alimi.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback playing the back office's admin service: token introspection (RFC 7662) at
 * {@code /introspect} and a JWKS at {@code /jwks}. It counts the calls it gets, can answer slowly, and can go
 * down and come back on the same port.
 */
public final class AdminService implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Map<String, Object>> active = new ConcurrentHashMap<>();
    private final AtomicInteger introspections = new AtomicInteger();
    private final AtomicInteger jwksFetches = new AtomicInteger();
    private final int port;
    private volatile String jwks = "{\"keys\":[]}";
    private volatile Duration delay = Duration.ZERO;
    private volatile String requiredAuthorization;
    private volatile HttpServer server;

    public AdminService() {
        this.port = Ports.free();
        up();
    }

    public String introspectionUrl() {
        return "http://127.0.0.1:" + port + "/introspect";
    }

    public String jwksUrl() {
        return "http://127.0.0.1:" + port + "/jwks";
    }

    /** The token is active with these claims (plus {@code active: true}). */
    public void activate(String token, Map<String, Object> claims) {
        active.put(token, claims);
    }

    public void revoke(String token) {
        active.remove(token);
    }

    public void jwks(JWKSet keys) {
        jwks = keys.toPublicJWKSet().toString();
    }

    public void delay(Duration delay) {
        this.delay = delay;
    }

    /** Introspection answers 401 unless called with this Authorization header. */
    public void requireAuthorization(String value) {
        this.requiredAuthorization = value;
    }

    public int introspections() {
        return introspections.get();
    }

    public int jwksFetches() {
        return jwksFetches.get();
    }

    public synchronized void down() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    public synchronized void up() {
        if (server != null) {
            return;
        }
        try {
            HttpServer started = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1000);
            started.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            started.createContext("/introspect", this::introspect);
            started.createContext("/jwks", this::jwks);
            started.start();
            server = started;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void introspect(HttpExchange exchange) throws IOException {
        introspections.incrementAndGet();
        try (exchange) {
            if (!delay.isZero()) {
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (requiredAuthorization != null
                    && !requiredAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                reply(exchange, 401, "{\"error\":\"invalid_client\"}");
                return;
            }
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String token = null;
            for (String pair : body.split("&")) {
                if (pair.startsWith("token=")) {
                    token = URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8);
                }
            }
            Map<String, Object> claims = token == null ? null : active.get(token);
            if (claims == null) {
                reply(exchange, 200, "{\"active\":false}");
                return;
            }
            Map<String, Object> answer = new java.util.HashMap<>(claims);
            answer.put("active", true);
            reply(exchange, 200, JSON.writeValueAsString(answer));
        }
    }

    private void jwks(HttpExchange exchange) throws IOException {
        jwksFetches.incrementAndGet();
        try (exchange) {
            reply(exchange, 200, jwks);
        }
    }

    private static void reply(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        down();
    }
}

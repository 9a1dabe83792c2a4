package io.alimi.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback speaking what Alimi uses of Google: the OAuth token endpoint (checking the
 * service account's signed assertion), FCM v1 {@code messages:send} (checking the access token and the message's
 * shape) and Instance ID {@code batchAdd}. It records what it received and answers as scripted per destination:
 * 200, 429 with Retry-After, 5xx, 404 UNREGISTERED, or holding the request.
 */
public final class FcmServer implements AutoCloseable {

    public static final String PROJECT = "alimi-test";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A message FCM accepted or refused: when, to where, what. */
    public record Received(Instant at, String destination, JsonNode message, int answered) {
    }

    private final HttpServer server;
    private final RSAKey key;
    private final String email = "alimi-push@" + PROJECT + ".iam.gserviceaccount.com";
    private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Deque<String>> script = new ConcurrentHashMap<>();
    private final Map<String, List<String>> subscriptions = new ConcurrentHashMap<>();
    private final AtomicInteger tokenCalls = new AtomicInteger();
    private final AtomicInteger arrived = new AtomicInteger();
    private final Map<String, Boolean> issued = new ConcurrentHashMap<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final List<String> removals = Collections.synchronizedList(new ArrayList<>());

    public FcmServer() {
        try {
            key = new RSAKeyGenerator(2048).generate();
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 200);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/token", this::token);
        server.createContext("/v1/projects/", this::send);
        server.createContext("/iid/v1:batchAdd", exchange -> topics(exchange, true));
        server.createContext("/iid/v1:batchRemove", exchange -> topics(exchange, false));
        server.createContext("/iid/info/", this::info);
        server.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Settings of a node with the push role talking to this server (fast retries); {@code overrides} win. */
    public Map<String, String> pushNode(Map<String, String> overrides) {
        Map<String, String> settings = new java.util.HashMap<>(Map.of(
                "alimi.roles", "relay,push",
                "alimi.push.fcm.credentials-file", credentials().toString(),
                "alimi.push.fcm.base-url", baseUrl(),
                "alimi.push.fcm.iid-base-url", baseUrl(),
                "alimi.push.backoff-min", "20ms",
                "alimi.push.backoff-max", "200ms"));
        settings.putAll(overrides);
        return settings;
    }

    /** A service-account key file naming this server's token endpoint. */
    public Path credentials() {
        try {
            String pem = "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.toPrivateKey().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
            Path file = Files.createTempFile("alimi-fcm-", ".json");
            file.toFile().deleteOnExit();
            Files.writeString(file, JSON.writeValueAsString(Map.of("type", "service_account", "project_id", PROJECT,
                    "client_email", email, "private_key", pem, "token_uri", baseUrl() + "/token")));
            return file;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The next answers for a destination ({@code token:<t>} or {@code topic:<t>}), in order, then 200: {@code 200},
     * {@code 429:<seconds>}, {@code 503}, {@code 404:UNREGISTERED}, {@code 400:INVALID_ARGUMENT}, {@code hold}
     * (the request waits until {@link #releaseHeld()}, then gets 503).
     */
    public void answer(String destination, String... answers) {
        script.computeIfAbsent(destination, d -> new ConcurrentLinkedDeque<>()).addAll(List.of(answers));
    }

    public void releaseHeld() {
        release.countDown();
    }

    public List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    /** Messages FCM accepted (200) for a destination. */
    public long delivered(String destination) {
        return received().stream().filter(r -> r.destination().equals(destination) && r.answered() == 200).count();
    }

    public List<String> subscriptions(String token) {
        synchronized (subscriptions.getOrDefault(token, List.of())) {
            return List.copyOf(subscriptions.getOrDefault(token, List.of()));
        }
    }

    /** Send requests that arrived, answered or not yet (a held one counts). */
    public int arrived() {
        return arrived.get();
    }

    public int tokenCalls() {
        return tokenCalls.get();
    }

    /** Requests that broke the protocol (bad assertion, bad auth header, bad message): should be none. */
    public List<String> problems() {
        synchronized (problems) {
            return List.copyOf(problems);
        }
    }

    private void token(HttpExchange exchange) throws IOException {
        try (exchange) {
            tokenCalls.incrementAndGet();
            Map<String, String> form = form(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (!"urn:ietf:params:oauth:grant-type:jwt-bearer".equals(form.get("grant_type"))) {
                problems.add("token: grant_type " + form.get("grant_type"));
                reply(exchange, 400, "{\"error\":\"unsupported_grant_type\"}", Map.of());
                return;
            }
            SignedJWT assertion = SignedJWT.parse(form.get("assertion"));
            boolean ok = assertion.verify(new RSASSAVerifier(key.toRSAPublicKey()))
                    && email.equals(assertion.getJWTClaimsSet().getIssuer())
                    && assertion.getJWTClaimsSet().getAudience().contains(baseUrl() + "/token")
                    && "https://www.googleapis.com/auth/firebase.messaging".equals(assertion.getJWTClaimsSet().getStringClaim("scope"))
                    && assertion.getJWTClaimsSet().getExpirationTime().toInstant().isAfter(Instant.now());
            if (!ok) {
                problems.add("token: the assertion does not verify");
                reply(exchange, 400, "{\"error\":\"invalid_grant\"}", Map.of());
                return;
            }
            String token = "ya29.test-" + tokenCalls.get();
            issued.put(token, true);
            reply(exchange, 200, "{\"access_token\":\"" + token + "\",\"expires_in\":3599,\"token_type\":\"Bearer\"}", Map.of());
        } catch (Exception e) {
            problems.add("token: " + e);
        }
    }

    private void send(HttpExchange exchange) throws IOException {
        arrived.incrementAndGet();
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals("/v1/projects/" + PROJECT + "/messages:send")) {
                problems.add("send: path " + exchange.getRequestURI().getPath());
                reply(exchange, 404, "{}", Map.of());
                return;
            }
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !auth.startsWith("Bearer ") || !issued.containsKey(auth.substring(7))) {
                problems.add("send: Authorization " + auth);
                reply(exchange, 401, "{\"error\":{\"code\":401,\"status\":\"UNAUTHENTICATED\"}}", Map.of());
                return;
            }
            JsonNode body = JSON.readTree(exchange.getRequestBody().readAllBytes());
            JsonNode message = body.path("message");
            String destination = message.hasNonNull("token") ? "token:" + message.get("token").asText()
                    : message.hasNonNull("topic") ? "topic:" + message.get("topic").asText() : "";
            if (destination.isEmpty() || !message.path("data").path("eventId").isTextual()
                    || !message.path("notification").path("title").isTextual()) {
                problems.add("send: message shape " + body);
            }
            String answer = next(destination);
            if (answer.equals("hold")) {
                release.await(30, TimeUnit.SECONDS);
                answer = "503";
            }
            int status = Integer.parseInt(answer.contains(":") ? answer.substring(0, answer.indexOf(':')) : answer);
            received.add(new Received(Instant.now(), destination, message, status));
            switch (status) {
                case 200 -> reply(exchange, 200, "{\"name\":\"projects/" + PROJECT + "/messages/" + System.nanoTime() + "\"}", Map.of());
                case 429 -> reply(exchange, 429, "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"errorCode\":\"QUOTA_EXCEEDED\"}]}}",
                        Map.of("Retry-After", answer.substring(4)));
                case 404, 400 -> reply(exchange, status, "{\"error\":{\"code\":" + status + ",\"status\":\"" + (status == 404 ? "NOT_FOUND" : "INVALID_ARGUMENT")
                        + "\",\"details\":[{\"@type\":\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":\""
                        + answer.substring(4) + "\"}]}}", Map.of());
                default -> reply(exchange, status, "{\"error\":{\"code\":" + status + ",\"status\":\"UNAVAILABLE\"}}", Map.of());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            problems.add("send: " + e);
        }
    }

    /** Instance ID batchAdd / batchRemove: one topic, some tokens; the calls are checked like FCM's. */
    private void topics(HttpExchange exchange, boolean add) throws IOException {
        try (exchange) {
            checkIid(exchange, "batch" + (add ? "Add" : "Remove"));
            JsonNode body = JSON.readTree(exchange.getRequestBody().readAllBytes());
            String topic = body.path("to").asText("").replace("/topics/", "");
            for (JsonNode token : body.path("registration_tokens")) {
                List<String> mine = subscriptions.computeIfAbsent(token.asText(), t -> Collections.synchronizedList(new ArrayList<>()));
                if (add) {
                    mine.add(topic);
                } else {
                    mine.remove(topic);
                    removals.add(token.asText() + " " + topic);
                }
            }
            reply(exchange, 200, "{\"results\":[{}]}", Map.of());
        }
    }

    /** Instance ID info: the topics a token is subscribed to ({@code rel.topics}). */
    private void info(HttpExchange exchange) throws IOException {
        try (exchange) {
            checkIid(exchange, "info");
            String token = exchange.getRequestURI().getPath().substring("/iid/info/".length());
            if (!"details=true".equals(exchange.getRequestURI().getQuery())) {
                problems.add("info: query " + exchange.getRequestURI().getQuery());
            }
            var topics = JSON.createObjectNode();
            for (String topic : subscriptions(token)) {
                topics.putObject(topic).put("addDate", "2026-11-01");
            }
            var answer = JSON.createObjectNode().put("application", "io.alimi.admin").put("platform", "ANDROID");
            answer.putObject("rel").set("topics", topics);
            reply(exchange, 200, answer.toString(), Map.of());
        }
    }

    private void checkIid(HttpExchange exchange, String call) {
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !auth.startsWith("Bearer ") || !issued.containsKey(auth.substring(7))
                || !"true".equals(exchange.getRequestHeaders().getFirst("access_token_auth"))) {
            problems.add(call + ": Authorization " + auth);
        }
    }

    /** A device subscribed to topics as an older version did it, or as an app instance may do by itself. */
    public void subscribe(String token, String... topics) {
        subscriptions.computeIfAbsent(token, t -> Collections.synchronizedList(new ArrayList<>())).addAll(List.of(topics));
    }

    /** batchRemove calls received: {@code <token> <topic>}. */
    public List<String> removals() {
        synchronized (removals) {
            return List.copyOf(removals);
        }
    }

    private String next(String destination) {
        Deque<String> answers = script.get(destination);
        String answer = answers == null ? null : answers.pollFirst();
        return answer == null ? "200" : answer;
    }

    private static Map<String, String> form(String body) {
        Map<String, String> form = new java.util.HashMap<>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                form.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return form;
    }

    private static void reply(HttpExchange exchange, int status, String body, Map<String, String> headers) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
    }

    /** Time between two receipts. */
    public static Duration between(Received first, Received second) {
        return Duration.between(first.at(), second.at());
    }
}

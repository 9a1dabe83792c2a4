package io.alimi.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.Main;
import io.alimi.event.Scope;
import io.alimi.support.Closer;
import io.alimi.support.Cursors;
import io.alimi.support.AdminService;
import io.alimi.support.Await;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.support.WsClient;
import io.alimi.transport.WsEndpoint;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Attacks on who may see what, each test named after its attack, against real nodes, Redis and admin service. */
class HardeningIT {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String SECRET = "hardening-hs256-secret-of-32-bytes!!";
    private static final String FRONT_END = "https://admin.example.com";
    private static final RSAKey RSA = rsa("rsa-1");

    @RegisterExtension
    final Closer closer = new Closer();
    private final AdminService admin = closer.add(new AdminService());

    private static RSAKey rsa(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A node accepting HS256 and RS256 (JWKS at the admin service) tokens, with issuer and audience checks. */
    private Main.Running node(Map<String, String> overrides) {
        admin.jwks(new JWKSet(RSA));
        Map<String, String> settings = new HashMap<>(Map.of(
                "alimi.auth.jwt.hs256-secret", SECRET,
                "alimi.auth.jwt.jwks-url", admin.jwksUrl(),
                "alimi.auth.jwt.issuer", "back-office",
                "alimi.auth.jwt.audience", "alimi",
                "alimi.http.cors.allowed-origins", FRONT_END));
        settings.putAll(overrides);
        return closer.add(TestNode.start(settings));
    }

    private Main.Running node() {
        return node(Map.of());
    }

    private static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().subject("42").issuer("back-office").audience("alimi")
                .expirationTime(Date.from(Instant.now().plusSeconds(600))).claim("malls", List.of("1"));
    }

    private static String hs256(JWTClaimsSet claims, String secret) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static String rs256(JWTClaimsSet claims, RSAKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static Http.Reply poll(Main.Running node, String token, String query) {
        return new Http(node.port()).get("/v1/poll?wait=0" + (query.isEmpty() ? "" : "&" + query),
                "Authorization", "Bearer " + token);
    }

    private static void assertRefused(int status, Http.Reply reply) {
        assertEquals(status, reply.status(), reply.body());
        assertEquals("application/problem+json", reply.header("Content-Type"));
    }

    // Tokens

    @Test
    void validHs256AndRs256TokensAreAccepted() throws JOSEException {
        Main.Running node = node();
        assertEquals(200, poll(node, hs256(claims().build(), SECRET), "").status());
        assertEquals(200, poll(node, rs256(claims().build(), RSA), "").status());
    }

    @Test
    void forgedSignature() throws JOSEException {
        Main.Running node = node();
        assertRefused(401, poll(node, hs256(claims().build(), "another-secret-of-at-least-32-bytes!!"), ""));
        assertRefused(401, poll(node, rs256(claims().build(), rsa("rsa-1")), ""));
        String good = hs256(claims().build(), SECRET);
        String widened = hs256(claims().claim("malls", List.of("1", "2", "3")).build(), "another-secret-of-at-least-32-bytes!!");
        String spliced = good.substring(0, good.indexOf('.') + 1) + widened.split("\\.")[1] + good.substring(good.lastIndexOf('.'));
        assertRefused(401, poll(node, spliced, ""));
    }

    @Test
    void expiredToken() throws JOSEException {
        Main.Running node = node();
        assertRefused(401, poll(node, hs256(claims().expirationTime(Date.from(Instant.now().minusSeconds(120))).build(), SECRET), ""));
        assertRefused(401, poll(node, hs256(claims().expirationTime(null).build(), SECRET), ""));
    }

    @Test
    void aStreamOutlivingItsTokenIsToldToReauthenticateAtExpiry() throws JOSEException {
        Main.Running node = node();
        Instant expiry = Instant.now().plusSeconds(2).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        String token = hs256(claims().expirationTime(Date.from(expiry)).build(), SECRET);
        SseClient sse = closer.add(SseClient.connect(node.port(), token, "", null));
        assertEquals("ready", sse.next(WAIT).type());
        WsClient ws = closer.add(WsClient.as(node.port(), token, ""));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
        SseClient.Event end = sse.nextExcept(WAIT);
        assertEquals("reconnect", end.type());
        assertEquals("reauth", end.json().get("reason").asText());
        assertTrue(!Instant.now().isBefore(expiry.minusMillis(100)), "not before the token expires");
        assertEquals("reauth", ws.next(WAIT).get("reason").asText());
        assertEquals(WsEndpoint.UNAUTHORIZED, ws.closeCode(WAIT));
    }

    @Test
    void notYetValidToken() throws JOSEException {
        Main.Running node = node();
        assertRefused(401, poll(node, rs256(claims().notBeforeTime(Date.from(Instant.now().plusSeconds(300))).build(), RSA), ""));
    }

    @Test
    void wrongIssuerOrAudience() throws JOSEException {
        Main.Running node = node();
        assertRefused(401, poll(node, hs256(claims().issuer("someone-else").build(), SECRET), ""));
        assertRefused(401, poll(node, rs256(claims().audience("another-service").build(), RSA), ""));
        assertRefused(401, poll(node, hs256(claims().issuer(null).build(), SECRET), ""));
    }

    @Test
    void algNone() {
        Main.Running node = node();
        String unsigned = new PlainJWT(claims().build()).serialize();
        assertRefused(401, poll(node, unsigned, ""));
        assertRefused(401, poll(node, unsigned + "AAAA", ""));
    }

    @Test
    void hsRsConfusionWithThePublishedPublicKeyAsHmacSecret() throws Exception {
        Main.Running node = node();
        // What an attacker can fetch: the JWKS public key. Sign HS256 with it, in every usual encoding.
        byte[] der = RSA.toRSAPublicKey().getEncoded();
        List<byte[]> candidates = List.of(der,
                ("-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                        + "\n-----END PUBLIC KEY-----\n").getBytes(StandardCharsets.US_ASCII),
                RSA.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8));
        for (byte[] secret : candidates) {
            SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(), claims().build());
            forged.sign(new MACSigner(secret));
            assertRefused(401, poll(node, forged.serialize(), ""));
        }
    }

    // Scopes and cursors

    @Test
    void scopeEscalationByQuery() throws JOSEException {
        Main.Running node = node();
        String token = hs256(claims().build(), SECRET);
        Http.Reply reply = poll(node, token, "scopes=mall:1,mall:2");
        assertRefused(403, reply);
        assertTrue(reply.json().get("detail").asText().contains("mall:2"), reply.body());
        assertRefused(403, poll(node, token, "scopes=admin:43"));
        assertRefused(403, poll(node, token, "scopes=partner:7"));
        assertRefused(400, poll(node, token, "scopes=mall:1%0D%0Aevent:%20x"));
        SseClient sse = closer.add(SseClient.connect(node.port(), token, "scopes=mall:2", null));
        assertEquals(403, sse.status());
        WsClient ws = closer.add(WsClient.as(node.port(), token, "scopes=mall:2"));
        assertEquals(WsEndpoint.FORBIDDEN, ws.closeCode(WAIT));
    }

    @Test
    void aCursorNamingAScopeNotEntitledGivesNothingOfItAndSaysItIsDropped() throws JOSEException {
        Main.Running node = node();
        Publisher publisher = new Publisher(node.port());
        publisher.publish("h-0", "mall:1");
        String theirs = Cursors.at(List.of(Scope.mall("1"), Scope.mall("2")), 1);
        publisher.publish("h-1", "mall:2");
        publisher.publish("h-2", "mall:1");
        String token = hs256(claims().build(), SECRET);
        Http.Reply reply = new Http(node.port()).get("/v1/poll?wait=0&cursor=" + theirs, "Authorization", "Bearer " + token);
        assertEquals(200, reply.status(), reply.body());
        assertEquals("[\"mall:2\"]", reply.json().get("revoked").toString());
        assertFalse(reply.body().contains("h-1"), reply.body());
        assertTrue(reply.body().contains("h-2"), reply.body());
        SseClient sse = closer.add(SseClient.connect(node.port(), token, "", theirs));
        assertEquals(200, sse.status());
        sse.next(WAIT);
        SseClient.Event revoked = sse.next(WAIT);
        assertEquals("alimi.revoked", revoked.type());
        assertEquals("[\"mall:2\"]", revoked.json().get("scopes").toString());
        assertEquals(List.of("h-0", "h-2"), sse.ids(2, WAIT));
    }

    // Tokens in URLs and tickets

    @Test
    void tokenInQuery() throws JOSEException {
        Main.Running node = node();
        String token = hs256(claims().build(), SECRET);
        Http.Reply reply = new Http(node.port()).get("/v1/poll?wait=0&access_token=" + token);
        assertRefused(401, reply);
        assertTrue(reply.body().contains("ticket"), "the refusal says what to do instead: " + reply.body());
        assertFalse(reply.body().contains(token));
        SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream?access_token=" + token, Map.of()));
        assertEquals(401, sse.status());
        WsClient ws = closer.add(WsClient.connect(node.port(), "/v1/ws?access_token=" + token));
        assertEquals(WsEndpoint.UNAUTHORIZED, ws.closeCode(WAIT));
    }

    private static String ticket(Main.Running node, String token) {
        Http.Reply reply = new Http(node.port()).post("/v1/tickets", null, "", "Authorization", "Bearer " + token);
        assertEquals(200, reply.status(), reply.body());
        assertEquals("no-store", reply.header("Cache-Control"));
        return reply.json().get("ticket").asText();
    }

    @Test
    void aTicketOpensOneStreamForItsAdminOnly() throws JOSEException {
        Main.Running node = node();
        String ticket = ticket(node, hs256(claims().build(), SECRET));
        SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream?ticket=" + ticket, Map.of()));
        SseClient.Event ready = sse.next(WAIT);
        assertEquals("ready", ready.type());
        assertEquals("[\"all\",\"mall:1\",\"admin:42\"]", ready.json().get("scopes").toString());
        WsClient ws = closer.add(WsClient.connect(node.port(), "/v1/ws?ticket=" + ticket(node, rs256(claims().build(), RSA))));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
    }

    @Test
    void ticketReuseEvenOnAnotherNode() throws JOSEException {
        Main.Running one = node();
        Main.Running other = node(Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix()));
        Main.Running sameStore = closer.add(TestNode.start(Map.of(
                "alimi.redis.key-prefix", prefixOf(one),
                "alimi.auth.jwt.hs256-secret", SECRET,
                "alimi.auth.jwt.issuer", "back-office", "alimi.auth.jwt.audience", "alimi")));
        String ticket = ticket(one, hs256(claims().build(), SECRET));
        SseClient first = closer.add(SseClient.connect(sameStore.port(), "/v1/stream?ticket=" + ticket, Map.of()));
        assertEquals("ready", first.next(WAIT).type(), "redeemed on another node of the same deployment");
        Http.Reply again = new Http(one.port()).get("/v1/poll?wait=0&ticket=" + ticket);
        assertRefused(401, again);
        assertTrue(again.json().get("detail").asText().contains("already used"), again.body());
        WsClient ws = closer.add(WsClient.connect(one.port(), "/v1/ws?ticket=" + ticket));
        assertEquals(WsEndpoint.UNAUTHORIZED, ws.closeCode(WAIT));
        assertRefused(401, new Http(other.port()).get("/v1/poll?wait=0&ticket=" + ticket));
    }

    private static String prefixOf(Main.Running node) {
        return node.settings().string("alimi.redis.key-prefix", "alimi:");
    }

    @Test
    void expiredTicket() throws JOSEException {
        Main.Running node = node(Map.of("alimi.auth.ticket-ttl", "1s"));
        String ticket = ticket(node, hs256(claims().build(), SECRET));
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            String pattern = prefixOf(node) + "ticket:*";
            assertEquals(1, redis.sync().keys(pattern).size());
            Await.until(WAIT, "the ticket to expire in Redis", () -> redis.sync().keys(pattern).isEmpty());
        }
        assertRefused(401, new Http(node.port()).get("/v1/poll?wait=0&ticket=" + ticket));
    }

    @Test
    void ticketsAreNotMintedFromTicketsOrGarbage() throws JOSEException {
        Main.Running node = node();
        Http http = new Http(node.port());
        String ticket = ticket(node, hs256(claims().build(), SECRET));
        assertRefused(401, http.post("/v1/tickets?ticket=" + ticket, null, ""));
        assertRefused(401, http.post("/v1/tickets", null, "", "Authorization", "Bearer " + ticket));
        assertRefused(401, http.post("/v1/tickets", null, "", "Authorization", "Bearer not-a-token"));
        assertRefused(401, http.get("/v1/poll?wait=0&ticket=" + "A".repeat(43)));
        assertRefused(401, http.get("/v1/poll?wait=0&ticket=short"));
    }

    @Test
    void ticketsStoredInRedisRevealNoToken() throws JOSEException {
        Main.Running node = node();
        String token = hs256(claims().build(), SECRET);
        String ticket = ticket(node, token);
        try (RedisClient client = RedisClient.create(TestServers.redis().url());
             StatefulRedisConnection<String, String> redis = client.connect()) {
            List<String> keys = redis.sync().keys(prefixOf(node) + "ticket:*");
            assertEquals(1, keys.size());
            assertFalse(keys.get(0).contains(ticket));
            byte[] stored = redis.sync().get(keys.get(0)).getBytes(StandardCharsets.ISO_8859_1);
            String asText = new String(stored, StandardCharsets.ISO_8859_1);
            assertFalse(asText.contains(token.substring(0, 20)), "the token is not stored in the clear");
        }
    }

    // Origins

    @Test
    void corsFromAForeignOrigin() throws JOSEException {
        Main.Running node = node();
        Http http = new Http(node.port());
        String token = hs256(claims().build(), SECRET);
        HttpRequest preflight = http.request("/v1/tickets").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://evil.example").header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization").build();
        Http.Reply refused = http.send(preflight);
        assertEquals(403, refused.status());
        assertNull(refused.header("Access-Control-Allow-Origin"));
        Http.Reply direct = http.post("/v1/tickets", null, "", "Origin", "https://evil.example", "Authorization", "Bearer " + token);
        assertRefused(403, direct);
        assertTrue(direct.json().get("detail").asText().contains("https://evil.example"), direct.body());
        SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream?ticket=" + ticket(node, token),
                Map.of("Origin", "https://evil.example")));
        assertEquals(403, sse.status());
        assertHandshakeRefused(node, "/v1/ws?ticket=" + ticket(node, token), Map.of("Origin", "https://evil.example"));
    }

    @Test
    void theBackOfficeOriginGetsCorsHeadersAndPreflights() throws JOSEException {
        Main.Running node = node();
        Http http = new Http(node.port());
        HttpRequest preflight = http.request("/v1/tickets").method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", FRONT_END).header("Access-Control-Request-Method", "POST").build();
        Http.Reply ok = http.send(preflight);
        assertEquals(204, ok.status());
        assertEquals(FRONT_END, ok.header("Access-Control-Allow-Origin"));
        assertEquals("true", ok.header("Access-Control-Allow-Credentials"));
        assertTrue(ok.header("Access-Control-Allow-Headers").contains("Authorization"));
        Http.Reply ticket = http.post("/v1/tickets", null, "", "Origin", FRONT_END,
                "Authorization", "Bearer " + hs256(claims().build(), SECRET));
        assertEquals(200, ticket.status());
        assertEquals(FRONT_END, ticket.header("Access-Control-Allow-Origin"));
        WsClient ws = closer.add(WsClient.connect(node.port(), "/v1/ws?ticket=" + ticket.json().get("ticket").asText(),
                Map.of("Origin", FRONT_END)));
        assertEquals("ready", ws.next(WAIT).get("op").asText());
    }

    @Test
    void theWebSocketHandshakeTakesAlimisOwnOriginAsWellAsListedOnesLikeEveryOtherRoute() throws JOSEException {
        Main.Running node = node();
        String token = hs256(claims().build(), SECRET);
        String own = "http://127.0.0.1:" + node.port();
        WsClient fromOwnPage = closer.add(WsClient.connect(node.port(), "/v1/ws?ticket=" + ticket(node, token),
                Map.of("Origin", own)));
        assertEquals("ready", fromOwnPage.next(WAIT).get("op").asText(), "a page Alimi serves (its console) connects");
        WsClient listed = closer.add(WsClient.connect(node.port(), "/v1/ws?ticket=" + ticket(node, token),
                Map.of("Origin", FRONT_END)));
        assertEquals("ready", listed.next(WAIT).get("op").asText());
        assertHandshakeRefused(node, "/v1/ws?ticket=" + ticket(node, token),
                Map.of("Origin", "http://127.0.0.1:" + (node.port() == 65535 ? 1 : node.port() + 1)));
        assertHandshakeRefused(node, "/v1/ws?ticket=" + ticket(node, token), Map.of("Origin", "null"));
    }

    private static void assertHandshakeRefused(Main.Running node, String path, Map<String, String> headers) {
        java.util.concurrent.CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.CompletionException.class, () -> WsClient.connect(node.port(), path, headers));
        Throwable cause = refused;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        assertTrue(cause.getMessage().contains("403"), String.valueOf(cause));
    }

    // Cookies

    @Test
    void aCookieSessionIsHttpOnlyStrictAndOpensStreams() throws JOSEException {
        Main.Running node = node(Map.of("alimi.auth.cookie.enabled", "true"));
        Http http = new Http(node.port());
        String token = hs256(claims().build(), SECRET);
        Http.Reply set = http.post("/v1/cookie", null, "", "Authorization", "Bearer " + token);
        assertEquals(204, set.status());
        String cookie = set.header("Set-Cookie");
        assertTrue(cookie.startsWith("alimi_token=" + token + ";"), cookie);
        assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Secure")
                && cookie.contains("Path=/v1"), cookie);
        SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream", Map.of("Cookie", "other=1; alimi_token=" + token)));
        assertEquals("ready", sse.next(WAIT).type());
        // Cross-site WebSocket hijacking: a foreign page's socket would carry the cookie.
        assertHandshakeRefused(node, "/v1/ws", Map.of("Cookie", "alimi_token=" + token, "Origin", "https://evil.example"));
        assertTrue(http.send(http.request("/v1/cookie").DELETE().build()).header("Set-Cookie").contains("Max-Age=0"));
    }

    @Test
    void cookiesAreIgnoredUnlessEnabled() throws JOSEException {
        Main.Running node = node();
        String token = hs256(claims().build(), SECRET);
        SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream", Map.of("Cookie", "alimi_token=" + token)));
        assertEquals(401, sse.status());
        assertEquals(404, new Http(node.port()).post("/v1/cookie", null, "", "Authorization", "Bearer " + token).status());
    }

    // Secrets

    @Test
    void secretsNeverAppearInLogsOrErrorBodies() throws JOSEException {
        List<String> seen = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                StringBuilder text = new StringBuilder(String.valueOf(record.getMessage()));
                if (record.getParameters() != null) {
                    for (Object parameter : record.getParameters()) {
                        text.append(' ').append(parameter);
                    }
                }
                for (Throwable t = record.getThrown(); t != null; t = t.getCause()) {
                    text.append(' ').append(t);
                }
                synchronized (seen) {
                    seen.add(text.toString());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        Level before = root.getLevel();
        // Everything down to FINE is captured and searched; the console keeps showing only what it showed before.
        Map<java.util.logging.Handler, Level> consoles = new HashMap<>();
        for (java.util.logging.Handler handler : root.getHandlers()) {
            consoles.put(handler, handler.getLevel());
            handler.setLevel(Level.INFO);
        }
        capture.setLevel(Level.ALL);
        root.addHandler(capture);
        root.setLevel(Level.FINE);
        List<String> bodies = new ArrayList<>();
        String expired = hs256(claims().expirationTime(Date.from(Instant.now().minusSeconds(600))).build(), SECRET);
        String good = hs256(claims().build(), SECRET);
        String opaque = "opaque-secret-token-0001";
        String introspectionCredentials = "Basic c2VjcmV0LWNsaWVudC1jcmVkZW50aWFscw==";
        admin.requireAuthorization("Basic something-else");
        try {
            Main.Running node = node(Map.of(
                    "alimi.auth.introspection.url", admin.introspectionUrl(),
                    "alimi.auth.introspection.authorization", introspectionCredentials,
                    "alimi.auth.cookie.enabled", "true"));
            Http http = new Http(node.port());
            String ticket = ticket(node, good);
            bodies.add(poll(node, expired, "").body());
            bodies.add(poll(node, opaque, "").body());
            bodies.add(poll(node, good, "scopes=mall:9").body());
            bodies.add(http.get("/v1/poll?wait=0&access_token=" + good).body());
            bodies.add(http.get("/v1/poll?wait=0&ticket=" + ticket).body());
            bodies.add(http.get("/v1/poll?wait=0&ticket=" + ticket).body());
            bodies.add(http.post("/v1/events", "application/cloudevents+json", "{}", "X-Api-Key", "wrong-" + TestNode.API_KEY).body());
            bodies.add(http.post("/v1/events", "application/cloudevents+json", "{", "X-Api-Key", TestNode.API_KEY).body());
            bodies.add(http.post("/v1/cookie", null, "", "Authorization", "Bearer " + expired).body());
            bodies.add(http.get("/v1/scopes/mall:1/events", "Authorization", "Bearer " + expired).body());
            SseClient sse = closer.add(SseClient.connect(node.port(), "/v1/stream?access_token=" + good, Map.of()));
            bodies.add(sse.statusBody());
            node.close();
        } finally {
            root.removeHandler(capture);
            root.setLevel(before);
            consoles.forEach(java.util.logging.Handler::setLevel);
        }
        List<String> secrets = List.of(good, expired, opaque, TestNode.API_KEY, SECRET, introspectionCredentials,
                good.substring(good.lastIndexOf('.') + 1));
        synchronized (seen) {
            assertFalse(seen.isEmpty(), "the capture saw the node's logs");
            for (String line : seen) {
                for (String secret : secrets) {
                    assertFalse(line.contains(secret), "a secret in a log line: " + line);
                }
            }
        }
        for (String body : bodies) {
            for (String secret : secrets) {
                assertFalse(body.contains(secret), "a secret in an error body: " + body);
            }
        }
    }
}

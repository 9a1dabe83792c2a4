package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.locks.ReentrantLock;

/**
 * OAuth 2.0 access tokens for FCM, by the JWT bearer grant (RFC 7523) with a service account: an RS256 assertion
 * signed with the account's key is exchanged at its token endpoint. The token is kept until five minutes before it
 * expires; one caller fetches a new one while the others wait for it.
 */
public final class AccessTokens {

    static final String SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
    private static final Duration EARLY = Duration.ofMinutes(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServiceAccount account;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;
    private final ReentrantLock fetching = new ReentrantLock();
    private volatile String token;
    private volatile Instant renewAt = Instant.MIN;

    public AccessTokens(ServiceAccount account, HttpClient http, Duration timeout, Clock clock) {
        this.account = account;
        this.http = http;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** A valid access token. */
    public String get() throws IOException, InterruptedException {
        if (token != null && clock.instant().isBefore(renewAt)) {
            return token;
        }
        fetching.lock();
        try {
            if (token == null || !clock.instant().isBefore(renewAt)) {
                fetch();
            }
            return token;
        } finally {
            fetching.unlock();
        }
    }

    /** Forgets the token (FCM said 401: it may have been revoked). */
    public void invalidate() {
        renewAt = Instant.MIN;
    }

    private void fetch() throws IOException, InterruptedException {
        Instant now = clock.instant();
        String assertion;
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), new JWTClaimsSet.Builder()
                    .issuer(account.clientEmail())
                    .audience(account.tokenUri())
                    .claim("scope", SCOPE)
                    .issueTime(Date.from(now))
                    .expirationTime(Date.from(now.plus(Duration.ofHours(1))))
                    .build());
            jwt.sign(new RSASSASigner(account.privateKey()));
            assertion = jwt.serialize();
        } catch (JOSEException e) {
            throw new IOException("the service-account assertion cannot be signed: " + e.getMessage(), e);
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(account.tokenUri()))
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type="
                        + URLEncoder.encode("urn:ietf:params:oauth:grant-type:jwt-bearer", StandardCharsets.UTF_8)
                        + "&assertion=" + assertion))
                .build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IOException("the token endpoint answered HTTP " + response.statusCode());
        }
        JsonNode body = JSON.readTree(response.body());
        String accessToken = body.path("access_token").asText("");
        long expiresIn = body.path("expires_in").asLong(0);
        if (accessToken.isEmpty() || expiresIn <= 0) {
            throw new IOException("the token endpoint answered without access_token and expires_in");
        }
        token = accessToken;
        Duration life = Duration.ofSeconds(expiresIn);
        renewAt = now.plus(life.compareTo(EARLY.multipliedBy(2)) > 0 ? life.minus(EARLY) : life.dividedBy(2));
    }
}

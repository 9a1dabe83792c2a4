package io.alimi.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.AdminService;
import io.alimi.support.Http;
import io.alimi.support.TestNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RS256/ES256 admin tokens verified with the keys of a real JWKS URL: caching, rotation, outage. */
class JwksIT {

    @RegisterExtension
    final Closer closer = new Closer();
    private final AdminService admin = closer.add(new AdminService());
    private static final String ISSUER = "https://id.example.test";
    private static final String AUDIENCE = "alimi";

    private Main.Running node(String... overrides) {
        Map<String, String> settings = new java.util.HashMap<>(Map.of("alimi.auth.jwt.jwks-url", admin.jwksUrl(),
                "alimi.auth.jwt.issuer", ISSUER, "alimi.auth.jwt.audience", AUDIENCE));
        for (int i = 0; i < overrides.length; i += 2) {
            settings.put(overrides[i], overrides[i + 1]);
        }
        return closer.add(TestNode.start(settings));
    }

    @Test
    void aKeySetWithoutIssuerAndAudienceChecksRefusesToStartNamingTheSetting() {
        io.alimi.config.SettingsException refused = org.junit.jupiter.api.Assertions.assertThrows(
                io.alimi.config.SettingsException.class,
                () -> closer.add(TestNode.start(Map.of("alimi.auth.jwt.jwks-url", admin.jwksUrl()))));
        assertTrue(refused.getMessage().contains("alimi.auth.jwt.issuer"), refused.getMessage());
        assertTrue(refused.getMessage().contains("allow-any-issuer-and-audience"), refused.getMessage());
        io.alimi.config.SettingsException noAudience = org.junit.jupiter.api.Assertions.assertThrows(
                io.alimi.config.SettingsException.class, () -> closer.add(TestNode.start(Map.of(
                        "alimi.auth.jwt.jwks-url", admin.jwksUrl(), "alimi.auth.jwt.issuer", ISSUER))));
        assertTrue(noAudience.getMessage().contains("alimi.auth.jwt.audience"), noAudience.getMessage());
    }

    @Test
    void anotherApplicationsTokenFromTheSameIdentityProviderIsRefused() throws JOSEException {
        RSAKey key = new RSAKeyGenerator(2048).keyID("shared-idp").generate();
        admin.jwks(new JWKSet(key));
        Main.Running node = node();
        SignedJWT other = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
                new JWTClaimsSet.Builder().subject("42").claim("malls", List.of("1")).issuer(ISSUER)
                        .audience("payroll").expirationTime(Date.from(Instant.now().plusSeconds(300))).build());
        other.sign(new RSASSASigner(key));
        assertEquals(401, poll(node, other.serialize()), "a token for another audience");
        assertEquals(200, poll(node, rs256(key)));
        Main.Running waived = closer.add(TestNode.start(Map.of("alimi.auth.jwt.jwks-url", admin.jwksUrl(),
                "alimi.auth.jwt.allow-any-issuer-and-audience", "true")));
        assertEquals(200, poll(waived, other.serialize()), "waived explicitly, any audience is accepted");
    }

    private static JWTClaimsSet claims() {
        return new JWTClaimsSet.Builder().subject("42").claim("malls", List.of("1"))
                .issuer(ISSUER).audience(AUDIENCE)
                .expirationTime(Date.from(Instant.now().plusSeconds(300))).build();
    }

    private static String rs256(RSAKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static String es256(ECKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(), claims());
        jwt.sign(new ECDSASigner(key));
        return jwt.serialize();
    }

    private static int poll(Main.Running node, String token) {
        return new Http(node.port()).get("/v1/poll?wait=0", "Authorization", "Bearer " + token).status();
    }

    @Test
    void keysAreFetchedOnceCachedAndARotatedKeyIsPickedUpByItsNewKeyId() throws JOSEException {
        RSAKey first = new RSAKeyGenerator(2048).keyID("2026-11").generate();
        ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-2026-11").generate();
        admin.jwks(new JWKSet(List.of(first, ec)));
        Main.Running node = node("alimi.auth.jwt.jwks-min-refresh-interval", "0s");
        for (int i = 0; i < 20; i++) {
            assertEquals(200, poll(node, rs256(first)));
        }
        assertEquals(200, poll(node, es256(ec)));
        assertEquals(1, admin.jwksFetches(), "the key set is cached");

        RSAKey second = new RSAKeyGenerator(2048).keyID("2026-12").generate();
        admin.jwks(new JWKSet(List.of(first, second)));
        assertEquals(200, poll(node, rs256(second)), "an unknown key id makes the node fetch the set again");
        assertEquals(2, admin.jwksFetches());
        assertEquals(401, poll(node, rs256(new RSAKeyGenerator(2048).keyID("2026-12").generate())),
                "a stranger's key under a known id");
    }

    @Test
    void anUnreachableKeySetIs503NotAnInvalidToken() throws JOSEException {
        RSAKey key = new RSAKeyGenerator(2048).keyID("k").generate();
        admin.jwks(new JWKSet(key));
        admin.down();
        Main.Running node = node("alimi.auth.jwt.jwks-timeout", "500ms");
        Http.Reply reply = new Http(node.port()).get("/v1/poll?wait=0", "Authorization", "Bearer " + rs256(key));
        assertEquals(503, reply.status(), reply.body());
        assertTrue(reply.json().get("detail").asText().contains("cannot be checked right now"));
        admin.up();
        assertEquals(200, poll(node, rs256(key)));
    }
}

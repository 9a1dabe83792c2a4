package io.alimi.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.event.Scope;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JwtIdentitiesTest {

    private static final byte[] SECRET = "an-hs256-secret-of-32-bytes-or-more!".getBytes(StandardCharsets.UTF_8);
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    private static final JwtIdentities JWT = new JwtIdentities(new JwtIdentities.Settings(SECRET, Optional.of("back-office"),
            Optional.of("alimi"), Duration.ofSeconds(30), "sub", "malls", "partner", "roles"), Clock.fixed(NOW, ZoneOffset.UTC));

    private static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().subject("42").issuer("back-office").audience("alimi")
                .expirationTime(Date.from(NOW.plusSeconds(600))).claim("malls", List.of("1", 2L)).claim("partner", "7");
    }

    private static String hs256(JWTClaimsSet claims, byte[] secret) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret));
        return jwt.serialize();
    }

    @Test
    void aValidTokenYieldsTheProfileAndItsExpiry() throws JOSEException {
        Identity identity = JWT.resolve(hs256(claims().build(), SECRET)).orElseThrow();
        assertEquals(Set.of(Scope.ALL, Scope.admin("42"), Scope.mall("1"), Scope.mall("2"), Scope.partner("7")),
                identity.profile().scopes());
        assertEquals(NOW.plusSeconds(600), identity.expiresAt().orElseThrow());
    }

    @Test
    void aForgedSignatureIsRefused() throws JOSEException {
        byte[] other = "another-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.UTF_8);
        assertTrue(JWT.resolve(hs256(claims().build(), other)).isEmpty());
        String good = hs256(claims().build(), SECRET);
        String tampered = good.substring(0, good.indexOf('.') + 1) + hs256(claims().subject("1").build(), SECRET).split("\\.")[1]
                + good.substring(good.lastIndexOf('.'));
        assertTrue(JWT.resolve(tampered).isEmpty(), "a changed payload under the old signature");
    }

    @Test
    void algNoneIsRefused() {
        String unsigned = new PlainJWT(claims().build()).serialize();
        assertTrue(JWT.resolve(unsigned).isEmpty());
        assertTrue(JWT.resolve(unsigned + "c2lnbmF0dXJl").isEmpty());
    }

    @Test
    void anRs256TokenIsRefusedWhateverItsSignature() throws JOSEException {
        RSAKey rsa = new RSAKeyGenerator(2048).generate();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), claims().build());
        jwt.sign(new RSASSASigner(rsa));
        assertTrue(JWT.resolve(jwt.serialize()).isEmpty());
    }

    @Test
    void expiryAndNotBeforeAreCheckedWithTheClockSkew() throws JOSEException {
        assertTrue(JWT.resolve(hs256(claims().expirationTime(Date.from(NOW.minusSeconds(31))).build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().expirationTime(Date.from(NOW.minusSeconds(29))).build(), SECRET)).isPresent());
        assertTrue(JWT.resolve(hs256(claims().notBeforeTime(Date.from(NOW.plusSeconds(31))).build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().expirationTime(null).build(), SECRET)).isEmpty(), "exp is required");
    }

    @Test
    void issuerAndAudienceMustMatch() throws JOSEException {
        assertTrue(JWT.resolve(hs256(claims().issuer("elsewhere").build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().audience("other").build(), SECRET)).isEmpty());
    }

    @Test
    void claimsThatAreNotScopeIdsAreRefused() throws JOSEException {
        assertTrue(JWT.resolve(hs256(claims().subject("4 2").build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().claim("malls", List.of("{1}")).build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().claim("partner", List.of("7")).build(), SECRET)).isEmpty());
        assertTrue(JWT.resolve(hs256(claims().subject(null).build(), SECRET)).isEmpty());
    }

    @Test
    void garbageIsNoIdentity() {
        for (String token : new String[] {"", "a.b.c", "not-a-jwt", "a..", "...", "eyJ.eyJ.sig"}) {
            assertTrue(JWT.resolve(token).isEmpty(), token);
        }
    }

    @Test
    void aShortSecretIsRefusedAtStartUp() {
        assertThrows(IllegalArgumentException.class, () -> new JwtIdentities.Settings("short".getBytes(StandardCharsets.UTF_8),
                Optional.empty(), Optional.empty(), Duration.ZERO, "sub", "malls", "partner", "roles"));
    }
}

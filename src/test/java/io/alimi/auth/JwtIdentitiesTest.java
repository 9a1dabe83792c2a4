package io.alimi.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
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
    private static final JwtIdentities.Checks CHECKS = new JwtIdentities.Checks(Optional.of("back-office"),
            Optional.of("alimi"), Duration.ofSeconds(30), ClaimsMapping.DEFAULT);
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final JwtIdentities JWT = JwtIdentities.hs256(SECRET, CHECKS, CLOCK);
    private static final RSAKey RSA = generateRsa("rsa-1");
    private static final ECKey EC = generateEc("ec-1");
    /** HS256 and RS256/ES256 from a key set, as with alimi.auth.jwt.jwks-url. */
    private static final JwtIdentities BOTH = new JwtIdentities(Optional.of(SECRET),
            Optional.of(new ImmutableJWKSet<>(new JWKSet(List.of(RSA.toPublicJWK(), EC.toPublicJWK())))),
            JwtIdentities.DEFAULT_JWKS_ALGORITHMS, CHECKS, CLOCK);

    private static RSAKey generateRsa(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ECKey generateEc(String kid) {
        try {
            return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static String rs256(JWTClaimsSet claims, RSAKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    static String es256(JWTClaimsSet claims, ECKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new ECDSASigner(key));
        return jwt.serialize();
    }

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
        assertThrows(IllegalArgumentException.class, () -> JwtIdentities.hs256("short".getBytes(StandardCharsets.UTF_8), CHECKS, CLOCK));
    }

    @Test
    void rs256AndEs256TokensSignedByKeySetKeysAreAccepted() throws JOSEException {
        assertEquals("42", BOTH.resolve(rs256(claims().build(), RSA)).orElseThrow().profile().adminNo());
        assertEquals("42", BOTH.resolve(es256(claims().build(), EC)).orElseThrow().profile().adminNo());
        assertEquals("42", BOTH.resolve(hs256(claims().build(), SECRET)).orElseThrow().profile().adminNo());
    }

    @Test
    void aTokenSignedByAKeyOutsideTheKeySetIsRefused() throws JOSEException {
        assertTrue(BOTH.resolve(rs256(claims().build(), generateRsa("rsa-1"))).isEmpty(), "same kid, other key");
        assertTrue(BOTH.resolve(rs256(claims().build(), generateRsa("unknown"))).isEmpty());
    }

    @Test
    void hsRsConfusionWithThePublicKeyAsHmacSecretIsRefused() throws Exception {
        // The classic attack: sign HS256 with the server's RSA public key as the HMAC secret.
        byte[] publicKeyBytes = RSA.toRSAPublicKey().getEncoded();
        SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(RSA.getKeyID()).build(), claims().build());
        forged.sign(new MACSigner(java.util.Arrays.copyOf(publicKeyBytes, Math.max(32, publicKeyBytes.length))));
        assertTrue(BOTH.resolve(forged.serialize()).isEmpty());
        byte[] pem = ("-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(publicKeyBytes)
                + "\n-----END PUBLIC KEY-----\n").getBytes(StandardCharsets.US_ASCII);
        SignedJWT forgedPem = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims().build());
        forgedPem.sign(new MACSigner(pem));
        assertTrue(BOTH.resolve(forgedPem.serialize()).isEmpty());
    }

    @Test
    void anAlgorithmNotConfiguredForTheKeySetIsRefused() throws JOSEException {
        JwtIdentities rsOnly = new JwtIdentities(Optional.empty(),
                Optional.of(new ImmutableJWKSet<>(new JWKSet(List.of(RSA.toPublicJWK(), EC.toPublicJWK())))),
                java.util.Set.of(JWSAlgorithm.RS256), CHECKS, CLOCK);
        assertTrue(rsOnly.resolve(es256(claims().build(), EC)).isEmpty());
        assertTrue(rsOnly.resolve(hs256(claims().build(), SECRET)).isEmpty(), "no secret configured: HS256 never verifies");
        assertThrows(IllegalArgumentException.class, () -> new JwtIdentities(Optional.empty(),
                Optional.of(new ImmutableJWKSet<>(new JWKSet())), java.util.Set.of(JWSAlgorithm.HS256), CHECKS, CLOCK),
                "a key set is never trusted for HMAC");
    }

    @Test
    void aKeySetTokenIsCheckedForExpiryIssuerAndAudienceToo() throws JOSEException {
        assertTrue(BOTH.resolve(rs256(claims().expirationTime(Date.from(NOW.minusSeconds(60))).build(), RSA)).isEmpty());
        assertTrue(BOTH.resolve(rs256(claims().issuer("elsewhere").build(), RSA)).isEmpty());
        assertTrue(BOTH.resolve(es256(claims().audience("other").build(), EC)).isEmpty());
    }

    @Test
    void claimsMayBeMappedFromOtherNamesAndNestedObjects() throws JOSEException {
        JwtIdentities mapped = JwtIdentities.hs256(SECRET, new JwtIdentities.Checks(Optional.empty(), Optional.empty(),
                Duration.ZERO, new ClaimsMapping("admin_no", "org.malls", "org.partner", "realm.roles")), CLOCK);
        JWTClaimsSet claims = new JWTClaimsSet.Builder().expirationTime(Date.from(NOW.plusSeconds(60)))
                .claim("admin_no", 9L).claim("org", java.util.Map.of("malls", "5, 6", "partner", "p1"))
                .claim("realm", java.util.Map.of("roles", List.of("owner"))).build();
        Profile profile = mapped.resolve(hs256(claims, SECRET)).orElseThrow().profile();
        assertEquals("9", profile.adminNo());
        assertEquals(Set.of("5", "6"), profile.malls());
        assertEquals(Optional.of("p1"), profile.partner());
        assertEquals(Set.of("owner"), profile.roles());
    }
}
